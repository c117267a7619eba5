package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/hookdtest"
	"github.com/hookd/hookd/internal/openapitest"
)

// walker sends requests to a real hookd and checks every answer against
// the OpenAPI document, noting which operation answered which status.
type walker struct {
	t    *testing.T
	doc  *openapitest.Doc
	seen *answers
}

// answers notes the operations answered, "METHOD /path status"; a nil
// *answers notes nothing.
type answers struct {
	mu sync.Mutex
	m  map[string]bool
}

func (a *answers) add(op string, status int) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string]bool{}
	}
	a.m[op+" "+strconv.Itoa(status)] = true
}

func (a *answers) has(op, status string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m[op+" "+status]
}

// do sends a request to base+path; body is a string or []byte (sent as
// is, as JSON unless headers say otherwise) or a value (as JSON). It
// checks the answer against the document and returns its status and body.
// An event stream's body is not read: the request ends once it is open.
func (w *walker) do(base, method, path, token string, body any, headers ...string) (int, []byte) {
	w.t.Helper()
	rd := hookdtest.Body(w.t, body)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var b []byte
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		if b, err = io.ReadAll(res.Body); err != nil {
			w.t.Fatalf("%s %s: read the answer: %v", method, path, err)
		}
	}
	op, err := w.doc.Check(req, res, b)
	if err != nil {
		w.t.Errorf("%s %s: the answer differs from openapi.json: %v", method, path, err)
	} else {
		w.seen.add(op, res.StatusCode)
	}
	return res.StatusCode, b
}

// want sends a request that must be answered status, and returns the
// answer's JSON object (nil when there is none).
func (w *walker) want(status int, base, method, path, token string, body any, headers ...string) map[string]any {
	w.t.Helper()
	got, b := w.do(base, method, path, token, body, headers...)
	if got != status {
		w.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, status, b)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// TestOpenAPIAnswers drives a real hookd (the delivery engine included)
// through every operation of the OpenAPI document with valid and invalid
// requests, and checks each answer against the document: its status must
// be documented for the operation and its body follow the schema given
// for that status (closed: no property the schema does not name). In the
// other direction every status the document gives an operation must have
// been answered here, so that the document promises nothing the server
// does not do. 503 is the exception: it is the store's failure (a full
// disk, a lost database; TestFullDiskAnswers503), reached here only where
// it has another cause.
func TestOpenAPIAnswers(t *testing.T) {
	t.Parallel()
	doc, err := apiDoc()
	if err != nil {
		t.Fatal(err)
	}
	w := &walker{t: t, doc: doc, seen: &answers{}}
	s := hookdtest.Start(t, hookdtest.Options{RetrySchedule: []time.Duration{10 * time.Millisecond}})
	u := s.URL
	root := hookdtest.RootToken
	var failing atomic.Bool
	recv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if failing.Load() || strings.Contains(r.URL.Path, "fail") {
			rw.WriteHeader(500)
			io.WriteString(rw, "no")
			return
		}
		rw.WriteHeader(204)
	}))
	t.Cleanup(recv.Close)

	// Operations.
	w.want(200, u, "GET", "/healthz", "", nil)
	w.want(200, u, "GET", "/readyz", "", nil)
	w.want(200, u, "GET", "/metrics", "", nil)
	w.want(200, u, "GET", "/openapi.json", "", nil)

	// Tenants.
	const ten = "/v1/tenants/acme"
	w.want(201, u, "POST", "/v1/tenants", root, map[string]any{"id": "acme", "name": "Acme GmbH"})
	w.want(201, u, "POST", "/v1/tenants", root, map[string]any{"id": "cat"})
	gen := w.want(201, u, "POST", "/v1/tenants", root, nil)["id"].(string)
	w.want(409, u, "POST", "/v1/tenants", root, map[string]any{"id": "acme"})
	w.want(400, u, "POST", "/v1/tenants", root, map[string]any{"id": "Not An Id!", "extra": 1})
	w.want(200, u, "GET", "/v1/tenants?limit=1", root, nil)
	w.want(400, u, "GET", "/v1/tenants?limit=0&offset=2", root, nil)
	w.want(200, u, "GET", ten, root, nil)
	w.want(404, u, "GET", "/v1/tenants/nope", root, nil)
	w.want(204, u, "DELETE", "/v1/tenants/"+gen, root, nil)
	w.want(404, u, "DELETE", "/v1/tenants/"+gen, root, nil)

	// Keys.
	admin := w.want(201, u, "POST", ten+"/keys", root, map[string]any{"name": "admin", "scopes": []string{"admin"}})["token"].(string)
	lister := w.want(201, u, "POST", ten+"/keys", root, map[string]any{"scopes": []string{"webhooks:list"}})["token"].(string)
	reader := w.want(201, u, "POST", ten+"/keys", root, map[string]any{"scopes": []string{"events:read"}})["token"].(string)
	catAdmin := w.want(201, u, "POST", "/v1/tenants/cat/keys", root, map[string]any{"scopes": []string{"admin"}})["token"].(string)
	catLister := w.want(201, u, "POST", "/v1/tenants/cat/keys", root, map[string]any{"scopes": []string{"webhooks:list"}})["token"].(string)
	gone := w.want(201, u, "POST", ten+"/keys", admin, map[string]any{"scopes": []string{"events:write"}})["id"].(string)
	w.want(400, u, "POST", ten+"/keys", admin, map[string]any{"scopes": []string{"nope"}, "name": 1})
	w.want(200, u, "GET", ten+"/keys", admin, nil)
	w.want(400, u, "GET", ten+"/keys?cursor=nope", admin, nil)
	w.want(204, u, "DELETE", ten+"/keys/"+gone, admin, nil)
	w.want(404, u, "DELETE", ten+"/keys/"+gone, admin, nil)
	w.want(200, u, "GET", "/v1/whoami", root, nil)
	w.want(200, u, "GET", "/v1/whoami", admin, nil)

	// Portal links.
	w.want(201, u, "POST", ten+"/portal-links", admin, map[string]any{"read_only": true, "expires_in": "5m"})
	link := w.want(201, u, "POST", ten+"/portal-links", admin, nil)["id"].(string)
	w.want(200, u, "GET", ten+"/portal-links", admin, nil)
	w.want(204, u, "DELETE", ten+"/portal-links/"+link, admin, nil)
	w.want(404, u, "DELETE", ten+"/portal-links/pl_nope", admin, nil)
	w.want(400, u, "POST", ten+"/portal-links", admin, map[string]any{"expires_in": "1s"})

	// Event types, in a tenant of their own: a catalogue restricts the
	// types the tenant may publish.
	const cat = "/v1/tenants/cat/event-types"
	schema := map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "integer"}}, "required": []string{"id"}}
	w.want(201, u, "POST", cat, catAdmin, map[string]any{"name": "Unit.Created", "description": "a unit", "schema": schema})
	w.want(409, u, "POST", cat, catAdmin, map[string]any{"name": "Unit.Created"})
	w.want(400, u, "POST", cat, catAdmin, map[string]any{"name": "hookd.mine", "schema": map[string]any{"type": 12}})
	w.want(200, u, "GET", cat+"?include_archived=true", catAdmin, nil)
	w.want(400, u, "GET", cat+"?include_archived=maybe", catAdmin, nil)
	w.want(200, u, "GET", cat+"/Unit.Created", catAdmin, nil)
	w.want(404, u, "GET", cat+"/Unit.Nothing", catAdmin, nil)
	w.want(201, u, "PUT", cat+"/Unit.Updated", catAdmin, map[string]any{"description": "changed"})
	w.want(200, u, "PUT", cat+"/Unit.Updated", catAdmin, map[string]any{"description": "changed again", "schema": nil})
	w.want(400, u, "PUT", cat+"/Unit.Updated", catAdmin, map[string]any{"name": "Unit.Other"})
	w.want(200, u, "PATCH", cat+"/Unit.Updated", catAdmin, map[string]any{"archived": true})
	w.want(400, u, "PATCH", cat+"/Unit.Updated", catAdmin, map[string]any{"description": strings.Repeat("x", 1001)})
	w.want(404, u, "PATCH", cat+"/Unit.Nothing", catAdmin, map[string]any{})
	w.want(204, u, "DELETE", cat+"/Unit.Updated", catAdmin, nil)
	w.want(204, u, "DELETE", cat+"/Unit.Updated?expunge=true", catAdmin, nil)
	w.want(400, u, "DELETE", cat+"/Unit.Created?expunge=maybe", catAdmin, nil)
	w.want(404, u, "DELETE", cat+"/Unit.Nothing", catAdmin, nil)
	w.want(400, u, "POST", "/v1/tenants/cat/events", catAdmin, map[string]any{"type": "Unit.Created", "payload": map[string]any{"id": "x"}})
	// A tenant has at most 1000 types: beyond, declaring one is a 409.
	for i := range 999 {
		if err := s.Store.CreateEventType(context.Background(), &hookd.EventType{TenantID: "cat", Name: fmt.Sprintf("Filler.T%d", i), CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	w.want(409, u, "PUT", cat+"/Unit.Full", catAdmin, map[string]any{})

	// Webhooks.
	const whs = ten + "/webhooks"
	hook := func(path string, more ...any) map[string]any {
		b := map[string]any{"name": "hook " + path, "url": recv.URL + "/" + path, "event_types": []string{"Unit.*"}}
		for i := 0; i+1 < len(more); i += 2 {
			b[more[i].(string)] = more[i+1]
		}
		return b
	}
	created := w.want(201, u, "POST", whs, admin, hook("ok", "auth", map[string]any{"type": "basic", "username": "u", "password": "p"},
		"headers", map[string]any{"X-A": []string{"1"}}, "filter", map[string]any{}, "retry_schedule", []string{"10ms"}, "rate_limit", 100, "max_in_flight", 5))
	wh := created["id"].(string)
	other := w.want(201, u, "POST", whs, admin, hook("other", "grouped", true))["id"].(string)
	fail := w.want(201, u, "POST", whs, admin, hook("fail", "max_retries", 0,
		"failure_handling", map[string]any{"suspend_after": "0s"}))["id"].(string)
	w.want(409, u, "POST", whs, admin, hook("ok"))
	w.want(400, u, "POST", whs, admin, map[string]any{"url": "ftp://x", "event_types": []string{}, "timeout_ms": 1})
	w.want(200, u, "GET", whs+"?active=true&event_type=Unit.Created", admin, nil)
	w.want(400, u, "GET", whs+"?active=maybe", admin, nil)
	w.want(200, u, "GET", whs+"/"+wh, admin, nil)
	w.want(404, u, "GET", whs+"/wh_nope", admin, nil)
	w.want(200, u, "PUT", whs+"/"+other, admin, hook("other", "description", "replaced", "grouped", true, "continue_on_failure", true))
	w.want(400, u, "PUT", whs+"/"+other, admin, map[string]any{"name": ""})
	w.want(404, u, "PUT", whs+"/wh_nope", admin, hook("nope"))
	w.want(409, u, "PUT", whs+"/"+other, admin, hook("ok"))
	w.want(200, u, "PATCH", whs+"/"+wh, admin, map[string]any{"add_event_types": []string{"Lease.*"}, "auth": nil, "add_headers": map[string]any{"X-B": []string{"2"}}})
	w.want(400, u, "PATCH", whs+"/"+wh, admin, map[string]any{"max_in_flight": 0})
	w.want(404, u, "PATCH", whs+"/wh_nope", admin, map[string]any{})
	w.want(409, u, "PATCH", whs+"/"+other, admin, map[string]any{"url": recv.URL + "/ok"})
	w.want(200, u, "POST", whs+"/"+wh+"/unsuspend", admin, nil)
	w.want(400, u, "POST", whs+"/"+wh+"/unsuspend", admin, map[string]any{"now": true})
	w.want(404, u, "POST", whs+"/wh_nope/unsuspend", admin, nil)
	w.want(200, u, "POST", whs+"/"+wh+"/test", admin, map[string]any{"type": "Unit.Tested", "payload": map[string]any{"a": 1}, "headers": map[string]any{"X-T": []string{"t"}}})
	w.want(200, u, "POST", whs+"/"+fail+"/test", admin, nil)
	w.want(400, u, "POST", whs+"/"+wh+"/test", admin, map[string]any{"type": ""})
	w.want(404, u, "POST", whs+"/wh_nope/test", admin, nil)
	w.want(200, u, "GET", whs+"/"+wh+"/secrets", admin, nil)
	w.want(404, u, "GET", whs+"/wh_nope/secrets", admin, nil)
	w.want(200, u, "POST", whs+"/"+wh+"/secrets/rotate", admin, nil)
	w.want(400, u, "POST", whs+"/"+wh+"/secrets/rotate", admin, map[string]any{"secret": "short"})
	w.want(404, u, "POST", whs+"/wh_nope/secrets/rotate", admin, nil)

	// Events, and their messages: one to fail, to the failing webhook.
	const evs = ten + "/events"
	ev := w.want(202, u, "POST", evs, admin, map[string]any{"type": "Unit.Created", "payload": map[string]any{"id": 1},
		"group": "g1", "attributes": map[string]any{"k": "v"}, "idempotency_key": "k1"})["id"].(string)
	w.want(200, u, "POST", evs, admin, map[string]any{"type": "Unit.Created", "payload": map[string]any{"id": 1},
		"group": "g1", "attributes": map[string]any{"k": "v"}, "idempotency_key": "k1"})
	w.want(409, u, "POST", evs, admin, map[string]any{"type": "Unit.Created", "idempotency_key": "k1"})
	w.want(400, u, "POST", evs, admin, map[string]any{"type": "hookd.mine"})
	w.want(202, u, "POST", evs+"/batch", admin, map[string]any{"events": []any{
		map[string]any{"type": "Unit.Updated"}, map[string]any{"type": "Unit.Created", "payload": map[string]any{"id": 1},
			"group": "g1", "attributes": map[string]any{"k": "v"}, "idempotency_key": "k1"}}})
	w.want(409, u, "POST", evs+"/batch", admin, map[string]any{"events": []any{map[string]any{"type": "Unit.Updated", "idempotency_key": "k1"}}})
	w.want(400, u, "POST", evs+"/batch", admin, map[string]any{"events": []any{}})
	w.want(200, u, "GET", evs+"?type=Unit.Created", admin, nil)
	w.want(400, u, "GET", evs+"?since=yesterday", admin, nil)
	w.want(200, u, "GET", evs+"/"+ev, admin, nil)
	w.want(404, u, "GET", evs+"/evt_nope", admin, nil)
	w.want(200, u, "GET", ten+"/stream?event_type=Unit.*", admin, nil)
	w.want(400, u, "GET", ten+"/stream?event_type=Unit.*", admin, nil, "Last-Event-ID", "nope")

	// Messages: wait for the deliveries to end (the failing one fails for
	// good: no retries).
	const msgs = ten + "/messages"
	var okMsg, failMsg string
	waitFor(t, "the deliveries of the first event", func() bool {
		m := w.want(200, u, "GET", msgs+"?event_id="+ev, admin, nil)
		okMsg, failMsg = "", ""
		for _, d := range m["data"].([]any) {
			d := d.(map[string]any)
			switch {
			case d["webhook_id"] == wh && d["state"] == "successful":
				okMsg = d["id"].(string)
			case d["webhook_id"] == fail && d["state"] == "failed":
				failMsg = d["id"].(string)
			}
		}
		return okMsg != "" && failMsg != ""
	})
	w.want(200, u, "GET", msgs+"?state=failed&state=successful&event_type=Unit.Created", admin, nil)
	w.want(400, u, "GET", msgs+"?state=bogus", admin, nil)
	w.want(200, u, "GET", msgs+"/"+failMsg, admin, nil)
	w.want(404, u, "GET", msgs+"/msg_nope", admin, nil)
	w.want(200, u, "GET", msgs+"/"+failMsg+"/attempts", admin, nil)
	w.want(200, u, "GET", msgs+"/"+okMsg+"/attempts", admin, nil)
	w.want(400, u, "GET", msgs+"/"+okMsg+"/attempts?limit=1001", admin, nil)
	w.want(404, u, "GET", msgs+"/msg_nope/attempts", admin, nil)
	w.want(202, u, "POST", whs+"/"+fail+"/recover", admin, map[string]any{"since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	w.want(400, u, "POST", whs+"/"+fail+"/recover", admin, map[string]any{})
	w.want(404, u, "POST", whs+"/wh_nope/recover", admin, map[string]any{"since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	waitFor(t, "the recovered message to fail again", func() bool {
		return w.want(200, u, "GET", msgs+"/"+failMsg, admin, nil)["state"] == "failed"
	})
	failing.Store(true) // the retried message fails again, rather than racing the test
	w.want(200, u, "POST", msgs+"/"+failMsg+"/retry", admin, nil)
	w.want(409, u, "POST", msgs+"/"+okMsg+"/retry", admin, nil)
	w.want(400, u, "POST", msgs+"/"+failMsg+"/retry", admin, map[string]any{"x": 1})
	w.want(404, u, "POST", msgs+"/msg_nope/retry", admin, nil)
	w.want(200, u, "POST", msgs+"/"+failMsg+"/resolve", admin, nil)
	w.want(409, u, "POST", msgs+"/"+okMsg+"/resolve", admin, nil)
	w.want(400, u, "POST", msgs+"/"+failMsg+"/resolve", admin, map[string]any{"x": 1})
	w.want(404, u, "POST", msgs+"/msg_nope/resolve", admin, nil)
	ev2 := w.want(202, u, "POST", evs, admin, map[string]any{"type": "Unit.Deleted"})["id"].(string)
	open := w.want(200, u, "GET", msgs+"?event_id="+ev2+"&webhook_id="+fail, admin, nil)["data"].([]any)[0].(map[string]any)["id"].(string)
	w.want(200, u, "POST", msgs+"/"+open+"/abort", admin, nil)
	w.want(409, u, "POST", msgs+"/"+okMsg+"/abort", admin, nil)
	w.want(400, u, "POST", msgs+"/"+okMsg+"/abort", admin, map[string]any{"x": 1})
	w.want(404, u, "POST", msgs+"/msg_nope/abort", admin, nil)
	w.want(204, u, "DELETE", whs+"/"+other, admin, nil)
	w.want(404, u, "DELETE", whs+"/"+other, admin, nil)

	// What every operation answers alike: each request below is sent to
	// every operation of the document, its path filled with ids that
	// exist, and whatever it is answered must be documented.
	ids := map[string]string{"keys": gone, "webhooks": wh, "events": ev, "messages": failMsg, "event-types": "Unit.Created", "portal-links": link}
	fill := func(op string) (method, path, tenant string) {
		method, path, _ = strings.Cut(op, " ")
		tenant = "acme"
		if strings.Contains(path, "/event-types") {
			tenant = "cat"
		}
		segs := strings.Split(path, "/")
		for i, seg := range segs {
			switch seg {
			case "{tenant}":
				segs[i] = tenant
			case "{id}", "{name}":
				segs[i] = ids[segs[i-1]]
			}
		}
		return method, strings.Join(segs, "/"), tenant
	}
	huge := `{"name": "` + strings.Repeat("x", 17<<20) + `"}`
	for _, op := range doc.Operations() {
		method, path, tenant := fill(op)
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		w.do(u, method, path, "", nil)
		if strings.HasPrefix(path, "/v1/tenants/") {
			w.do(u, method, strings.Replace(path, "/"+tenant, "/nope", 1), root, nil)
		}
		switch {
		case strings.Count(path, "/") <= 3: // /v1/tenants and /v1/tenants/{tenant}: the root token's
			w.do(u, method, path, admin, nil)
		case op == "GET /v1/tenants/{tenant}/webhooks":
			w.do(u, method, path, reader, nil)
		case tenant == "cat":
			w.do(u, method, path, catLister, nil)
		case strings.HasPrefix(path, "/v1/tenants/"):
			w.do(u, method, path, lister, nil)
		}
		if method == "POST" || method == "PUT" || method == "PATCH" {
			w.do(u, method, path, root, huge)
			w.do(u, method, path, root, `{}`, "Content-Type", "text/plain")
		}
	}

	// A tenant's requests beyond --rate-limit are a 429 on each of its
	// operations; on a server without a delivery engine a test call is a
	// 503.
	l := hookdtest.Start(t, hookdtest.Options{RateLimit: 0.001, RateBurst: 1, NoEngine: true})
	w.want(201, l.URL, "POST", "/v1/tenants", root, map[string]any{"id": "acme"})
	key := w.want(201, l.URL, "POST", ten+"/keys", root, map[string]any{"scopes": []string{"admin"}})["token"].(string)
	limited := w.want(201, l.URL, "POST", whs, root, hook("ok"))["id"].(string)
	w.want(503, l.URL, "POST", whs+"/"+limited+"/test", root, nil)
	w.want(200, l.URL, "GET", whs, key, nil) // the one request of the burst
	for _, op := range doc.Operations() {
		method, path, tenant := fill(op)
		// The limit is checked before anything is looked up: acme's
		// key is limited on every path of acme, the catalogue's too.
		path = strings.Replace(path, "/v1/tenants/"+tenant+"/", ten+"/", 1)
		if strings.HasPrefix(path, ten+"/") {
			w.do(l.URL, method, path, key, nil)
		}
	}

	// Every status the document gives an operation was answered.
	for _, op := range doc.Operations() {
		for _, status := range doc.Statuses(op) {
			if status != "503" && !w.seen.has(op, status) {
				t.Errorf("%s: openapi.json documents %s, which no request here got: add one that gets it, or take the status out of the document", op, status)
			}
		}
	}
}
