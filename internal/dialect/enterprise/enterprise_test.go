package enterprise_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dialect"
	"github.com/hookd/hookd/internal/dialect/dialecttest"
	"github.com/hookd/hookd/internal/dialect/enterprise"
)

const base = "/event/acme"

func start(t *testing.T, opts dialecttest.Options) (*dialecttest.Server, string) {
	t.Helper()
	opts.Dialects = []func(dialect.Env) dialect.API{func(e dialect.Env) dialect.API { return enterprise.New(e) }}
	s := dialecttest.Start(t, opts)
	s.Tenant("acme")
	return s, s.Key("acme", hookd.ScopeAdmin)
}

func create(url string, types ...string) map[string]any {
	return map[string]any{
		"name":            "orders to " + url,
		"enabled":         true,
		"endpoint":        map[string]any{"url": url, "headers": map[string][]string{"X-Tenant": {"acme"}}},
		"failureHandling": map[string]any{"suspendAfter": "48h"},
		"eventTypes":      types,
	}
}

// wantProblem fails unless r is the native problem document of status
// naming exactly fields.
func wantProblem(t *testing.T, r *dialecttest.Resp, status int, fields ...string) {
	t.Helper()
	r.Want(t, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" || !strings.HasPrefix(r.Str("type"), "https://hookd.dev/errors/") {
		t.Fatalf("not a native problem (%s): %s", ct, r.Body)
	}
	var got []string
	for _, e := range r.Get("errors").([]any) {
		got = append(got, e.(map[string]any)["field"].(string))
	}
	slices.Sort(got)
	slices.Sort(fields)
	if !slices.Equal(got, fields) {
		t.Fatalf("error fields %q, want %q: %s", got, fields, r.Body)
	}
}

// The seed's create, get, patch and delete, with WebhookResponse as it
// describes it; the webhook is an ordinary one in /v1.
func TestWebhooks(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	r := s.Do("POST", base+"/webhooks", key, create("https://orders.example.com/in", "order.created", "order.paid")).Want(t, 200)
	id := r.Str("locator")
	want := `{"locator": "` + id + `", "name": "orders to https://orders.example.com/in", "enabled": true,
		"endpoint": {"url": "https://orders.example.com/in", "headers": {"X-Tenant": ["acme"]}},
		"failureHandling": {"suspendAfter": "48h"}, "suspended": false, "suspendedAt": null,
		"eventTypes": ["order.created", "order.paid"]}`
	r.WantJSON(t, 200, want)
	s.Do("GET", base+"/webhooks/"+id, key, nil).WantJSON(t, 200, want)
	n := s.Do("GET", "/v1/tenants/acme/webhooks/"+id, key, nil).Want(t, 200)
	if n.Str("failure_handling.suspend_after") != "48h" || n.Str("url") != "https://orders.example.com/in" {
		t.Fatalf("native %s", n.Body)
	}

	// Fewest fields: enabled true, suspension after the default 120h.
	r = s.Do("POST", base+"/webhooks", key, map[string]any{"name": "min", "endpoint": map[string]any{"url": "https://min.example.com/"},
		"eventTypes": []string{"*"}, "failureHandling": nil}).Want(t, 200)
	if r.Get("enabled") != true || r.Str("failureHandling.suspendAfter") != "120h" || fmt.Sprint(r.Get("endpoint.headers")) != "map[]" {
		t.Fatalf("defaults %s", r.Body)
	}

	// PATCH: removals first, then additions.
	r = s.Do("PATCH", base+"/webhooks/"+id, key, map[string]any{
		"name": "renamed", "enabled": false,
		"endpoint": map[string]any{"url": "https://orders.example.com/v2", "removeHeaders": []string{"x-tenant", "X-Both"},
			"addHeaders": map[string][]string{"X-Both": {"1"}, "X-New": {"a", "b"}}},
		"removeEventTypes": []string{"order.paid", "order.refunded"}, "addEventTypes": []string{"order.refunded"},
		"removeFailureHandling": true,
	}).Want(t, 200)
	r.WantJSON(t, 200, `{"locator": "`+id+`", "name": "renamed", "enabled": false,
		"endpoint": {"url": "https://orders.example.com/v2", "headers": {"X-Both": ["1"], "X-New": ["a", "b"]}},
		"failureHandling": null, "suspended": false, "suspendedAt": null, "eventTypes": ["order.created", "order.refunded"]}`)
	// failureHandling after removeFailureHandling: the addition wins; null
	// members change nothing.
	r = s.Do("PATCH", base+"/webhooks/"+id, key, map[string]any{"removeFailureHandling": true, "failureHandling": map[string]any{"suspendAfter": "2h30m"},
		"name": nil, "endpoint": nil}).Want(t, 200)
	if r.Str("failureHandling.suspendAfter") != "2h30m" || r.Str("name") != "renamed" {
		t.Fatalf("patch %s", r.Body)
	}
	s.Do("PATCH", base+"/webhooks/"+id, key, nil).Want(t, 200)
	wantProblem(t, s.Do("PATCH", base+"/webhooks/"+id, key, map[string]any{"addEventTypes": []string{"ok.type", "bad type"},
		"endpoint": map[string]any{"addHeaders": map[string][]string{"Host": {"x"}}, "url": "ftp://x"}, "failureHandling": map[string]any{"suspendAfter": "soon"},
		"removeFailureHandling": "yes", "color": "red"}),
		400, "addEventTypes[1]", "endpoint.addHeaders.Host", "endpoint.url", "failureHandling.suspendAfter", "removeFailureHandling", "color")
	wantProblem(t, s.Do("PATCH", base+"/webhooks/"+id, key, map[string]any{"removeEventTypes": []string{"order.created", "order.refunded"}}),
		400, "removeEventTypes")

	s.Do("DELETE", base+"/webhooks/"+id, key, nil).Want(t, 204)
	wantProblem(t, s.Do("GET", base+"/webhooks/"+id, key, nil), 404)
	wantProblem(t, s.Do("PATCH", base+"/webhooks/"+id, key, nil), 404)
	wantProblem(t, s.Do("PATCH", base+"/webhooks/"+id+"/unsuspend", key, nil), 404)
	wantProblem(t, s.Do("DELETE", base+"/webhooks/"+id, key, nil), 404)
}

// Every invalid field at once, named by the seed's paths, in the native
// problem document (German by Accept-Language, as /v1).
func TestValidation(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true, HTTPSOnly: true})
	r := s.Do("POST", base+"/webhooks", key, map[string]any{
		"enabled":         "yes",
		"endpoint":        map[string]any{"url": "http://orders.example.com/", "headers": map[string]any{"Host": []string{"x"}, "X-A": "v"}},
		"failureHandling": map[string]any{"suspendAfter": "9000h", "x": 1},
		"eventTypes":      []any{"order.created", "bad type", 3},
		"secrets":         []string{"x"},
	})
	wantProblem(t, r, 400, "name", "enabled", "endpoint.url", "endpoint.headers.Host", "endpoint.headers.X-A",
		"failureHandling.suspendAfter", "failureHandling.x", "eventTypes[1]", "eventTypes[2]", "secrets")
	wantProblem(t, s.Do("POST", base+"/webhooks", key, map[string]any{"name": "n"}), 400, "endpoint", "eventTypes")
	wantProblem(t, s.Do("POST", base+"/webhooks", key, map[string]any{"name": "n", "endpoint": map[string]any{}, "eventTypes": []string{}}),
		400, "endpoint.url", "eventTypes")
	wantProblem(t, s.Do("POST", base+"/webhooks", key, ``), 400)
	wantProblem(t, s.Do("POST", base+"/webhooks", key, `{"name": `), 400)
	de := s.Do("POST", base+"/webhooks", key, map[string]any{"name": "n", "endpoint": map[string]any{"url": "http://o.example.com/"},
		"eventTypes": []string{"a"}}, "Accept-Language", "de")
	if de.Str("title") != "Validierung fehlgeschlagen" || !strings.Contains(string(de.Body), "muss https verwenden") {
		t.Fatalf("German %s", de.Body)
	}
	s.Do("POST", base+"/webhooks", key, create("https://orders.example.com/in", "a")).Want(t, 200)
	r = s.Do("POST", base+"/webhooks", key, create("https://orders.example.com/in", "b"))
	wantProblem(t, r, 409)
	if r.Str("existing_id") == "" {
		t.Fatalf("409 without existing_id: %s", r.Body)
	}
}

// The path names the tenant: the key's, else 404; root in any tenant that
// exists; a UUID compares case-insensitively. 401, 403, 405, 415 are the
// native answers.
func TestTenantsAndAuth(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	const uuid = "6f1c2f1e-3b4a-4c5d-8e9f-0a1b2c3d4e5f"
	s.Tenant(uuid)
	ukey := s.Key(uuid, hookd.ScopeAdmin)
	id := s.Do("POST", "/event/"+strings.ToUpper(uuid)+"/webhooks", ukey, create("https://u.example.com/", "a")).Want(t, 200).Str("locator")
	s.Do("GET", "/event/"+uuid+"/webhooks/"+id, ukey, nil).Want(t, 200)
	s.Do("GET", "/event/"+strings.ToUpper(uuid)+"/webhooks/"+id, ukey, nil).Want(t, 200)
	wantProblem(t, s.Do("GET", "/event/"+uuid+"/webhooks/"+id, key, nil), 404) // acme's key, another tenant
	wantProblem(t, s.Do("GET", base+"/webhooks/"+id, key, nil), 404)           // acme has no such webhook
	wantProblem(t, s.Do("GET", "/event/nope/webhooks/list", key, nil), 404)
	s.Do("GET", "/event/"+uuid+"/webhooks/"+id, dialecttest.RootToken, nil).Want(t, 200)
	wantProblem(t, s.Do("GET", "/event/nope/webhooks/list", dialecttest.RootToken, nil), 404)

	wantProblem(t, s.Do("GET", base+"/webhooks/list", "", nil), 401)
	wantProblem(t, s.Do("GET", base+"/webhooks/list", "hk_nope", nil), 401)
	reader := s.Key("acme", hookd.ScopeWebhooksRead)
	wantProblem(t, s.Do("GET", base+"/webhooks/list", reader, nil), 403)
	wantProblem(t, s.Do("POST", base+"/webhooks", reader, create("https://x.example.com/", "a")), 403)
	wantProblem(t, s.Do("GET", base+"/diverted", reader, nil), 403)
	r := s.Do("PUT", base+"/webhooks/wh_x", key, nil)
	wantProblem(t, r, 405)
	if !strings.Contains(r.Header.Get("Allow"), "PATCH") {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
	wantProblem(t, s.Do("POST", base+"/webhooks", key, "name=x", "Content-Type", "text/plain"), 415)
	wantProblem(t, s.Do("GET", base+"/nothing", key, nil), 404)
}

// The list: a bare array, offset and count, the filters, eventTypes
// repeated or comma-separated; an unknown parameter or a bad value is a
// 400 naming it.
func TestList(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	var ids []string
	for i, types := range [][]string{{"order.created"}, {"order.paid"}, {"invoice.sent"}, {"order.*"}} {
		b := create(fmt.Sprintf("https://h%d.example.com/", i), types...)
		b["name"] = fmt.Sprintf("hook %d", i)
		ids = append(ids, s.Do("POST", base+"/webhooks", key, b).Want(t, 200).Str("locator"))
	}
	s.Do("PATCH", base+"/webhooks/"+ids[1], key, map[string]any{"enabled": false}).Want(t, 200)
	locators := func(r *dialecttest.Resp) []string {
		var out []string
		for _, w := range r.JSON.([]any) {
			out = append(out, w.(map[string]any)["locator"].(string))
		}
		return out
	}
	for q, want := range map[string][]string{
		"":                                       ids,
		"?offset=1&count=2":                      ids[1:3],
		"?offset=4":                              nil,
		"?enabled=false":                         {ids[1]},
		"?active=true&suspended=false":           {ids[0], ids[2], ids[3]},
		"?name=HOOK%202":                         {ids[2]},
		"?eventTypes=order.paid":                 {ids[1], ids[3]},
		"?eventTypes=invoice.sent,order.created": {ids[0], ids[2], ids[3]},
		"?eventTypes=invoice.sent&eventTypes=order.paid": {ids[1], ids[2], ids[3]},
	} {
		r := s.Do("GET", base+"/webhooks/list"+q, key, nil).Want(t, 200)
		if got := locators(r); !slices.Equal(got, want) {
			t.Errorf("list%s = %q, want %q", q, got, want)
		}
	}
	wantProblem(t, s.Do("GET", base+"/webhooks/list?offset=-1&count=0&enabled=maybe&limit=5", key, nil), 400,
		"offset", "count", "enabled", "limit")
	wantProblem(t, s.Do("GET", base+"/webhooks/list?count=1001", key, nil), 400, "count")
	wantProblem(t, s.Do("GET", base+"/diverted?cursor=x&count=x", key, nil), 400, "cursor", "count")
}

// The round: register, publish through /v1, see the delivery fail until
// the webhook is suspended; unsuspend; the failed message is a diverted
// event, retried once the receiver works; another is dismissed.
func TestRound(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{})
	rc := s.Receiver()
	rc.Status.Store(http.StatusInternalServerError)
	b := create(rc.URL+"/orders", "order.created")
	b["failureHandling"] = map[string]any{"suspendAfter": "1ms"}
	id := s.Do("POST", base+"/webhooks", key, b).Want(t, 200).Str("locator")
	secret := s.Secrets("acme", id)[0]
	s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "order.created", "payload": map[string]any{"order": 1}}).Want(t, 202)

	var w *dialecttest.Resp
	dialecttest.Eventually(t, "the webhook to be suspended", func() bool {
		w = s.Do("GET", base+"/webhooks/"+id, key, nil).Want(t, 200)
		return w.Get("suspended") == true
	})
	if w.Str("suspendedAt") == "" {
		t.Fatalf("suspended without suspendedAt: %s", w.Body)
	}
	if r := s.Do("GET", base+"/webhooks/list?suspended=true", key, nil).Want(t, 200); r.Len("") != 1 {
		t.Fatalf("suspended list %s", r.Body)
	}
	dialecttest.Verify(t, secret, rc.Requests()[0])

	// No more suspension, then unsuspend: the message fails for good. In
	// the other order a retry failing between the two calls suspends the
	// webhook again (suspendAfter 1ms, retries 10ms apart).
	w = s.Do("PATCH", base+"/webhooks/"+id, key, map[string]any{"removeFailureHandling": true}).Want(t, 200)
	if w.Get("suspended") != true || w.Get("failureHandling") != nil {
		t.Fatalf("after removeFailureHandling %s", w.Body)
	}
	s.Do("PATCH", base+"/webhooks/"+id+"/unsuspend", key, nil).Want(t, 204)
	w = s.Do("GET", base+"/webhooks/"+id, key, nil).Want(t, 200)
	if w.Get("suspended") != false || w.Get("suspendedAt") != nil || w.Get("failureHandling") != nil {
		t.Fatalf("after unsuspend %s", w.Body)
	}
	var d *dialecttest.Resp
	dialecttest.Eventually(t, "a diverted event", func() bool {
		d = s.Do("GET", base+"/diverted?webhookLocator="+id, key, nil).Want(t, 200)
		return d.Len("") == 1
	})
	locator := d.Str("0.locator")
	if d.Str("0.webhookLocator") != id || d.Str("0.eventType") != "order.created" || fmt.Sprint(d.Get("0.payload")) != "map[order:1]" ||
		d.Num("0.attempts") != 7 || d.Str("0.lastError") != "http_status" || d.Str("0.failedAt") == "" {
		t.Fatalf("diverted %s", d.Body)
	}
	if r := s.Do("GET", base+"/diverted?webhookLocator=wh_other&offset=0&count=10", key, nil).Want(t, 200); r.Len("") != 0 {
		t.Fatalf("another webhook's diverted events %s", r.Body)
	}

	// Retry once the receiver works: delivered, no longer diverted.
	rc.Status.Store(http.StatusOK)
	n := len(rc.Requests())
	s.Do("POST", base+"/diverted/"+locator+"/retry", key, nil).Want(t, 204)
	reqs := rc.Wait(t, n+1)
	dialecttest.Verify(t, secret, reqs[n])
	if reqs[n].Header.Get("webhook-id") != locator || reqs[n].Header.Get("X-Tenant") != "acme" {
		t.Fatalf("redelivery headers %v", reqs[n].Header)
	}
	dialecttest.Eventually(t, "the retried message to be successful", func() bool {
		return s.Do("GET", "/v1/tenants/acme/messages/"+locator, key, nil).Want(t, 200).Str("state") == "successful"
	})
	if r := s.Do("GET", base+"/diverted", key, nil).Want(t, 200); r.Len("") != 0 {
		t.Fatalf("diverted after the retry %s", r.Body)
	}
	wantProblem(t, s.Do("POST", base+"/diverted/"+locator+"/retry", key, nil), 404) // not diverted any more

	// Another failure, dismissed: resolved.
	rc.Status.Store(http.StatusBadGateway)
	s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "order.created", "payload": 2}).Want(t, 202)
	dialecttest.Eventually(t, "a second diverted event", func() bool {
		d = s.Do("GET", base+"/diverted", key, nil).Want(t, 200)
		return d.Len("") == 1
	})
	second := d.Str("0.locator")
	s.Do("DELETE", base+"/diverted/"+second, key, nil).Want(t, 204)
	if st := s.Do("GET", "/v1/tenants/acme/messages/"+second, key, nil).Want(t, 200).Str("state"); st != "resolved" {
		t.Fatalf("dismissed message is %s", st)
	}
	wantProblem(t, s.Do("DELETE", base+"/diverted/"+second, key, nil), 404)
	wantProblem(t, s.Do("DELETE", base+"/diverted/msg_nope", key, nil), 404)
}

// Diverted events page by offset and count, oldest first, each page the
// slice of the whole list at its position, of every webhook of the tenant
// or of the one webhookLocator names.
func TestDivertedPages(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	a := s.Do("POST", base+"/webhooks", key, create("https://a.example.com/", "order.created")).Want(t, 200).Str("locator")
	b := s.Do("POST", base+"/webhooks", key, create("https://b.example.com/", "order.created")).Want(t, 200).Str("locator")
	for i := range 4 {
		s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "order.created", "payload": i}).Want(t, 202)
	}
	// Every message fails for good but a's first, delivered.
	ctx := context.Background()
	now := time.Now()
	ds, err := s.Store.Claim(ctx, now, 100, time.Minute)
	if err != nil || len(ds) != 8 {
		t.Fatalf("claimed %d, %v; want 8", len(ds), err)
	}
	slices.SortFunc(ds, func(x, y *hookd.Delivery) int { return strings.Compare(x.Message.ID, y.Message.ID) })
	var outs []hookd.Outcome
	var failed, failedA, failedB []string
	delivered := false
	for _, d := range ds {
		o := hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateFailed,
			Attempt: hookd.Attempt{StartedAt: now, StatusCode: 500, Error: hookd.AttemptErrStatus}}
		switch {
		case d.Webhook.ID == a && !delivered:
			o.State, o.Attempt.StatusCode, o.Attempt.Error, o.Attempt.Success = hookd.StateSuccessful, 200, "", true
			delivered = true
		case d.Webhook.ID == a:
			failed, failedA = append(failed, d.Message.ID), append(failedA, d.Message.ID)
		default:
			failed, failedB = append(failed, d.Message.ID), append(failedB, d.Message.ID)
		}
		outs = append(outs, o)
	}
	if err := s.Store.Complete(ctx, outs, now); err != nil {
		t.Fatal(err)
	}
	for query, want := range map[string][]string{
		"":                     failed,
		"?count=3":             failed[:3],
		"?offset=2&count=3":    failed[2:5],
		"?offset=6":            failed[6:],
		"?offset=7":            nil,
		"?webhookLocator=" + a: failedA,
		"?webhookLocator=" + a + "&offset=1&count=1": failedA[1:2],
		"?webhookLocator=" + b + "&offset=3":         failedB[3:],
		"?webhookLocator=" + b + "&offset=4":         nil,
	} {
		r := s.Do("GET", base+"/diverted"+query, key, nil).Want(t, 200)
		var got []string
		for i := range r.Len("") {
			got = append(got, r.Str(fmt.Sprintf("%d.locator", i)))
		}
		if !slices.Equal(got, want) {
			t.Errorf("diverted%s = %v, want %v", query, got, want)
		}
	}
}

// Every route is in the dialect's OpenAPI document.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	s, _ := start(t, dialecttest.Options{NoEngine: true})
	dialecttest.CheckOpenAPI(t, s.APIs[0])
	s.Do("GET", "/openapi/enterprise.json", "", nil).Want(t, 200)
}

// failAll claims every due message and fails it for good, returning
// their ids by webhook, in id order.
func failAll(t *testing.T, s *dialecttest.Server) map[string][]string {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	ds, err := s.Store.Claim(ctx, now, 1000, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	var outs []hookd.Outcome
	for _, d := range ds {
		outs = append(outs, hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateFailed,
			Attempt: hookd.Attempt{StartedAt: now, StatusCode: 500, Error: hookd.AttemptErrStatus}})
		out[d.Webhook.ID] = append(out[d.Webhook.ID], d.Message.ID)
	}
	if err := s.Store.Complete(ctx, outs, now); err != nil {
		t.Fatal(err)
	}
	for _, ids := range out {
		slices.Sort(ids)
	}
	return out
}

// A tenant's diverted events are its own, also when its key names
// another tenant's webhook as webhookLocator or pages far past the end;
// a bad offset or count is a 400 naming it.
func TestDivertedTenants(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	s.Tenant("beta")
	bkey := s.Key("beta", hookd.ScopeAdmin)
	a := s.Do("POST", base+"/webhooks", key, create("https://a.example.com/", "order.created")).Want(t, 200).Str("locator")
	b := s.Do("POST", "/event/beta/webhooks", bkey, create("https://b.example.com/", "order.created")).Want(t, 200).Str("locator")
	for i := range 3 {
		s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "order.created", "payload": i}).Want(t, 202)
	}
	for i := range 5 {
		s.Do("POST", "/v1/tenants/beta/events", bkey, map[string]any{"type": "order.created", "payload": i}).Want(t, 202)
	}
	failed := failAll(t, s)
	if len(failed[a]) != 3 || len(failed[b]) != 5 {
		t.Fatalf("failed %v", failed)
	}
	for _, tt := range []struct {
		path, key string
		want      []string
	}{
		{base + "/diverted", key, failed[a]},
		{"/event/beta/diverted", bkey, failed[b]},
		{"/event/beta/diverted?offset=3&count=1", bkey, failed[b][3:4]},
		{base + "/diverted?webhookLocator=" + b, key, nil},
		{base + "/diverted?webhookLocator=" + b + "&offset=2", key, nil},
		{"/event/beta/diverted?webhookLocator=" + a, bkey, nil},
		{base + "/diverted?webhookLocator=" + a + "&offset=2", key, failed[a][2:]},
		{base + "/diverted?offset=9223372036854775807", key, nil},
		{base + "/diverted?webhookLocator=" + a + "&offset=9223372036854775807&count=1000", key, nil},
	} {
		r := s.Do("GET", tt.path, tt.key, nil).Want(t, 200)
		var got []string
		for i := range r.Len("") {
			got = append(got, r.Str(fmt.Sprintf("%d.locator", i)))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.path, got, tt.want)
		}
	}
	wantProblem(t, s.Do("GET", "/event/beta/diverted", key, nil), 404)
	wantProblem(t, s.Do("GET", base+"/diverted?offset=-1&count=0", key, nil), 400, "offset", "count")
	wantProblem(t, s.Do("GET", base+"/diverted?offset=x&count=1001", key, nil), 400, "offset", "count")
	wantProblem(t, s.Do("GET", base+"/diverted?offset=99999999999999999999", key, nil), 400, "offset")
	wantProblem(t, s.Do("GET", base+"/diverted?offset=1&offset=2", key, nil), 400, "offset")
}
