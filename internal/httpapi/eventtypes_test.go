package httpapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/httpapi"
)

const unitSchema = `{"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}`

func (e *env) mustEventType(tenant string, body map[string]any) {
	e.t.Helper()
	e.do("POST", "/v1/tenants/"+tenant+"/event-types", rootToken, body).want(e.t, 201)
}

func names(r *resp) []string {
	var out []string
	for _, d := range r.data() {
		out = append(out, d["name"].(string))
	}
	return out
}

func TestEventTypesCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	const p = "/v1/tenants/acme/event-types"
	r := e.do("POST", p, rootToken, map[string]any{"name": "Unit.Updated", "description": "a unit changed",
		"schema": json.RawMessage(unitSchema)}).want(t, 201)
	if got := r.Header.Get("Location"); got != p+"/Unit.Updated" {
		t.Fatalf("Location = %q", got)
	}
	if r.str("name") != "Unit.Updated" || r.str("tenant_id") != "acme" || r.str("description") != "a unit changed" ||
		r.field("archived") != false || r.str("created_at") == "" || r.field("schema.type") != "object" {
		t.Fatalf("created: %s", r.Body)
	}
	r = e.do("GET", p+"/Unit.Updated", rootToken, nil).want(t, 200)
	if r.field("schema.properties.id.type") != "integer" {
		t.Fatalf("get: %s", r.Body)
	}
	// Without a schema, schema reads null.
	r = e.do("POST", p, rootToken, map[string]any{"name": "_log.door:opened"}).want(t, 201)
	if v, ok := r.JSON["schema"]; !ok || v != nil || r.str("description") != "" {
		t.Fatalf("created without schema: %s", r.Body)
	}
	r = e.do("POST", p, rootToken, map[string]any{"name": "Unit.Updated"}).want(t, 409)
	if r.str("existing_id") != "Unit.Updated" {
		t.Fatalf("duplicate: %s", r.Body)
	}

	// PUT declares: 201 when new, 200 when it replaced; absent fields reset.
	r = e.do("PUT", p+"/Unit.Created", rootToken, map[string]any{"description": "new"}).want(t, 201)
	if r.Header.Get("Location") != p+"/Unit.Created" || r.str("description") != "new" {
		t.Fatalf("PUT new: %s", r.Body)
	}
	r = e.do("PUT", p+"/Unit.Updated", rootToken, map[string]any{"name": "Unit.Updated"}).want(t, 200)
	if r.JSON["schema"] != nil || r.str("description") != "" {
		t.Fatalf("PUT replace: %s", r.Body)
	}
	e.do("PUT", p+"/Unit.Updated", rootToken, map[string]any{"name": "Unit.Renamed"}).wantFields(t, 400, "name")

	// PATCH changes only what it names; null resets.
	e.do("PATCH", p+"/Unit.Updated", rootToken, map[string]any{"schema": json.RawMessage(unitSchema), "description": "d"}).want(t, 200)
	r = e.do("PATCH", p+"/Unit.Updated", rootToken, map[string]any{"description": nil}).want(t, 200)
	if r.str("description") != "" || r.field("schema.type") != "object" {
		t.Fatalf("PATCH: %s", r.Body)
	}

	// The list is by name, bytewise; archived types only on request.
	e.do("PATCH", p+"/_log.door:opened", rootToken, map[string]any{"archived": true}).want(t, 200)
	r = e.do("GET", p, rootToken, nil).want(t, 200)
	if got, want := names(r), []string{"Unit.Created", "Unit.Updated"}; !slices.Equal(got, want) || r.JSON["next_cursor"] != nil {
		t.Fatalf("list = %v, want %v: %s", got, want, r.Body)
	}
	var walked []string
	next := p + "?include_archived=true&limit=2"
	for next != "" {
		r = e.do("GET", next, rootToken, nil).want(t, 200)
		walked = append(walked, names(r)...)
		next = ""
		if c, ok := r.JSON["next_cursor"].(string); ok {
			next = p + "?include_archived=true&limit=2&cursor=" + c
		}
	}
	if want := []string{"Unit.Created", "Unit.Updated", "_log.door:opened"}; !slices.Equal(walked, want) {
		t.Fatalf("walked %v, want %v", walked, want)
	}
	e.do("GET", p+"?cursor=!!", rootToken, nil).wantFields(t, 400, "cursor")
	e.do("GET", p+"?include_archived=maybe", rootToken, nil).wantFields(t, 400, "include_archived")

	// DELETE archives (Svix's way); expunge=true removes for good.
	e.do("DELETE", p+"/Unit.Created", rootToken, nil).want(t, 204)
	if r = e.do("GET", p+"/Unit.Created", rootToken, nil).want(t, 200); r.field("archived") != true {
		t.Fatalf("after DELETE: %s", r.Body)
	}
	e.do("DELETE", p+"/Unit.Created", rootToken, nil).want(t, 204)
	e.do("DELETE", p+"/Unit.Created?expunge=true", rootToken, nil).want(t, 204)
	e.do("GET", p+"/Unit.Created", rootToken, nil).want(t, 404)
	e.do("DELETE", p+"/Unit.Created?expunge=true", rootToken, nil).want(t, 404)
	e.do("DELETE", p+"/Unit.Created?expunge=perhaps", rootToken, nil).wantFields(t, 400, "expunge")
	e.do("PATCH", p+"/Unit.Created", rootToken, map[string]any{}).want(t, 404)
	e.do("GET", p+"/not%20a%20name", rootToken, nil).want(t, 404)
	e.do("GET", "/v1/tenants/nope/event-types", rootToken, nil).want(t, 404)
}

func TestEventTypeValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	const p = "/v1/tenants/acme/event-types"
	for _, tt := range []struct {
		name   string
		body   any
		fields []string
	}{
		{"empty", map[string]any{}, []string{"name"}},
		{"bad name", map[string]any{"name": "Unit Updated"}, []string{"name"}},
		{"pattern as name", map[string]any{"name": "Unit.*"}, []string{"name"}},
		{"hookd's namespace", map[string]any{"name": "hookd.message.failed"}, []string{"name"}},
		{"wrong types", map[string]any{"name": 1, "description": 2, "archived": "yes"}, []string{"name", "description", "archived"}},
		{"read-only and unknown", map[string]any{"name": "a", "created_at": "x", "tenant_id": "acme", "color": 1}, []string{"created_at", "tenant_id", "color"}},
		{"schema not an object", map[string]any{"name": "a", "schema": "string"}, []string{"schema"}},
		{"schema breaks its metaschema", map[string]any{"name": "a", "schema": json.RawMessage(`{"properties": {"id": {"type": 5}}}`)}, []string{"schema.properties.id.type"}},
		{"schema refers elsewhere", map[string]any{"name": "a", "schema": json.RawMessage(`{"$ref": "https://example.com/s.json"}`)}, []string{"schema"}},
		{"schema too large", map[string]any{"name": "a", "schema": map[string]any{"description": strings.Repeat("x", hookd.MaxSchemaBytes)}}, []string{"schema"}},
		{"every problem at once", map[string]any{"name": "a b", "description": strings.Repeat("x", 1001), "schema": json.RawMessage(`{"minimum": "x"}`)},
			[]string{"name", "description", "schema.minimum"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.do("POST", p, rootToken, tt.body).wantFields(t, 400, tt.fields...)
		})
	}
	if r := e.do("GET", p+"?include_archived=true", rootToken, nil).want(t, 200); len(r.data()) != 0 {
		t.Fatalf("refused declarations were stored: %s", r.Body)
	}
}

func TestEventTypeScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	e.mustTenant("other")
	const p = "/v1/tenants/acme/event-types"
	e.mustEventType("acme", map[string]any{"name": "Unit.Updated"})
	for _, sc := range []hookd.Scope{hookd.ScopeEventsRead, hookd.ScopeWebhooksRead, hookd.ScopeAdmin} {
		k := e.mustKey("acme", sc)
		e.do("GET", p, k, nil).want(t, 200)
		e.do("GET", p+"/Unit.Updated", k, nil).want(t, 200)
	}
	for _, sc := range []hookd.Scope{hookd.ScopeEventsWrite, hookd.ScopeWebhooksWrite, hookd.ScopeWebhooksList, hookd.ScopeMessagesRead} {
		k := e.mustKey("acme", sc)
		if sc != hookd.ScopeEventsWrite && sc != hookd.ScopeWebhooksWrite {
			e.do("GET", p, k, nil).want(t, 403)
		}
		e.do("POST", p, k, map[string]any{"name": "x"}).want(t, 403)
		e.do("PUT", p+"/x", k, map[string]any{}).want(t, 403)
		e.do("PATCH", p+"/Unit.Updated", k, map[string]any{}).want(t, 403)
		e.do("DELETE", p+"/Unit.Updated", k, nil).want(t, 403)
	}
	admin := e.mustKey("acme", hookd.ScopeAdmin)
	e.do("POST", p, admin, map[string]any{"name": "Unit.Created"}).want(t, 201)
	e.do("DELETE", p+"/Unit.Created?expunge=true", admin, nil).want(t, 204)
	// Another tenant's key learns nothing.
	otherAdmin := e.mustKey("other", hookd.ScopeAdmin)
	e.do("GET", p, otherAdmin, nil).want(t, 404)
	e.do("GET", p+"/Unit.Updated", otherAdmin, nil).want(t, 404)
	e.do("POST", p, otherAdmin, map[string]any{"name": "x"}).want(t, 404)
	if r := e.do("GET", "/v1/tenants/other/event-types", otherAdmin, nil).want(t, 200); len(r.data()) != 0 {
		t.Fatalf("tenant other sees %s", r.Body)
	}
}

func TestPublishUnderCatalog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	const ev = "/v1/tenants/acme/events"
	// Without a catalogue every type is free.
	e.do("POST", ev, rootToken, map[string]any{"type": "Anything.Goes", "payload": "x"}).want(t, 202)

	e.mustEventType("acme", map[string]any{"name": "Unit.Updated", "schema": json.RawMessage(unitSchema)})
	e.mustEventType("acme", map[string]any{"name": "Unit.Free"})
	e.mustEventType("acme", map[string]any{"name": "Unit.Old", "archived": true})
	e.do("POST", ev, rootToken, map[string]any{"type": "Unit.Updated", "payload": map[string]any{"id": 17, "name": "3rd"}}).want(t, 202)
	e.do("POST", ev, rootToken, map[string]any{"type": "Unit.Free", "payload": []int{1}}).want(t, 202)

	r := e.do("POST", ev, rootToken, map[string]any{"type": "Anything.Goes", "payload": "x"})
	r.wantFields(t, 400, "type")
	if msg := r.JSON["errors"].([]any)[0].(map[string]any)["message"].(string); !strings.Contains(msg, "not a declared event type") {
		t.Fatalf("message: %q", msg)
	}
	e.do("POST", ev, rootToken, map[string]any{"type": "Unit.Old"}).wantFields(t, 400, "type")
	// Every schema violation at once, with the body's other problems.
	r = e.do("POST", ev, rootToken, map[string]any{"type": "Unit.Updated", "group": strings.Repeat("g", 256),
		"payload": map[string]any{"id": "17", "name": 3}})
	r.wantFields(t, 400, "group", "payload.id", "payload.name")
	if !strings.Contains(string(r.Body), `"payload.id","message":"must be integer, not string"`) {
		t.Fatalf("answer: %s", r.Body)
	}
	e.do("POST", ev, rootToken, map[string]any{"type": "Unit.Updated"}).wantFields(t, 400, "payload")
	e.do("POST", ev, rootToken, map[string]any{"type": "Unit.Updated", "payload": map[string]any{}}).wantFields(t, 400, "payload.id")

	// A batch is all or nothing, each problem under its event.
	r = e.do("POST", ev+"/batch", rootToken, map[string]any{"events": []any{
		map[string]any{"type": "Unit.Updated", "payload": map[string]any{"id": 1}},
		map[string]any{"type": "Unit.Updated", "payload": map[string]any{"id": 1.5}},
		map[string]any{"type": "Nope"},
		"not an object",
	}})
	r.wantFields(t, 400, "events[1].payload.id", "events[2].type", "events[3]")
	events := e.do("GET", ev, rootToken, nil).want(t, 200)
	if n := len(events.data()); n != 3 {
		t.Fatalf("%d events stored, want the 3 accepted", n)
	}

	// Expunging the last types frees the tenant's types again.
	for _, n := range []string{"Unit.Updated", "Unit.Free", "Unit.Old"} {
		e.do("DELETE", "/v1/tenants/acme/event-types/"+n+"?expunge=true", rootToken, nil).want(t, 204)
	}
	e.do("POST", ev, rootToken, map[string]any{"type": "Anything.Goes", "payload": "x"}).want(t, 202)
}

func TestWebhookSubscriptionsUnderCatalog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	const wh = "/v1/tenants/acme/webhooks"
	// Without a catalogue anything goes.
	free := e.mustWebhook("acme", merge(hook("free"), "event_types", []string{"Whatever", "Unit.*"}))

	e.mustEventType("acme", map[string]any{"name": "Unit.Updated"})
	e.mustEventType("acme", map[string]any{"name": "Party.Merged", "archived": true})
	e.do("POST", wh, rootToken, merge(hook("a"), "event_types", []string{"Unit.Updated", "Unit.*", "*", "all", "hookd.webhook.suspended"})).want(t, 201)
	e.do("POST", wh, rootToken, merge(hook("b"), "event_types", []string{"Unit.Updated", "Nope", "Party.Merged", "Party.*", "bad pattern"}, "timeout_ms", 5)).
		wantFields(t, 400, "event_types[1]", "event_types[2]", "event_types[3]", "event_types[4]", "timeout_ms")

	// An update keeps the types the webhook had, even undeclared ones, and
	// checks the new ones.
	e.do("PATCH", wh+"/"+free, rootToken, map[string]any{"name": "renamed"}).want(t, 200)
	e.do("PUT", wh+"/"+free, rootToken, merge(hook("free"), "event_types", []string{"Whatever", "Unit.*"})).want(t, 200)
	e.do("PATCH", wh+"/"+free, rootToken, map[string]any{"add_event_types": []string{"Nope"}}).wantFields(t, 400, "event_types[2]")
	e.do("PUT", wh+"/"+free, rootToken, merge(hook("free"), "event_types", []string{"Whatever", "Nope.*"})).wantFields(t, 400, "event_types[1]")
	e.do("PATCH", wh+"/"+free, rootToken, map[string]any{"add_event_types": []string{"Unit.Updated"}}).want(t, 200)
}

// A catalogue changed through another process applies here once this
// process's copy expires (Server.CatalogTTL).
func TestCatalogAcrossProcesses(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	a := newEnvOn(t, db)
	b := &env{t: t, deliv: &fakeDeliverer{}}
	b.api = newAPI(t, db, b.deliv)
	b.api.CatalogTTL = 100 * time.Millisecond
	b.srv = httptest.NewServer(b.api.Handler())
	t.Cleanup(b.srv.Close)
	a.mustTenant("acme")
	const ev = "/v1/tenants/acme/events"
	b.do("POST", ev, rootToken, map[string]any{"type": "Anything.Goes"}).want(t, 202) // b now keeps "no catalogue"
	a.mustEventType("acme", map[string]any{"name": "Unit.Updated"})
	a.do("POST", ev, rootToken, map[string]any{"type": "Anything.Goes"}).want(t, 400) // at once where it changed
	deadline := time.Now().Add(30 * time.Second)
	for b.do("POST", ev, rootToken, map[string]any{"type": "Anything.Goes"}).Status != 400 {
		if time.Now().After(deadline) {
			t.Fatal("the other process still accepts an undeclared type")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkPublish measures one event through the API on SQLite, for a
// tenant without a catalogue (the path every tenant took before event
// types), with one, and with a schema to check.
func BenchmarkPublish(b *testing.B) {
	for _, bc := range []struct {
		name  string
		types []map[string]any
	}{
		{"no-catalogue", nil},
		{"catalogue", []map[string]any{{"name": "Unit.Updated"}}},
		{"schema", []map[string]any{{"name": "Unit.Updated", "schema": json.RawMessage(unitSchema)}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b)
			e.mustTenant("acme")
			for i, et := range bc.types {
				e.mustEventType("acme", et)
				e.do("POST", "/v1/tenants/acme/event-types", rootToken, map[string]any{"name": fmt.Sprintf("Other.T%d", i)}).want(b, 201)
			}
			e.mustWebhook("acme", hook("x"))
			body := []byte(`{"type": "Unit.Updated", "payload": {"id": 17, "name": "3rd floor"}}`)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := e.do("POST", "/v1/tenants/acme/events", rootToken, body)
					if r.Status != 202 {
						b.Errorf("status %d: %s", r.Status, r.Body)
						return
					}
				}
			})
		})
	}
}

// The dashboard's webhook forms (DecodeWebhook) check the catalogue as the
// API does.
func TestDecodeWebhookUnderCatalog(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	ctx := t.Context()
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateEventType(ctx, &hookd.EventType{TenantID: "acme", Name: "Unit.Updated"}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"name": "n", "url": "https://example.com/x", "event_types": ["Unit.*", "Nope"]}`)
	_, err := httpapi.DecodeWebhook(ctx, nil, db, "acme", body, nil, time.Now())
	var he *hookd.Error
	if !errors.As(err, &he) || len(he.Fields) != 1 || he.Fields[0].Field != "event_types[1]" {
		t.Fatalf("DecodeWebhook = %v, want one error on event_types[1]", err)
	}
	old := &hookd.Webhook{ID: "wh_1", TenantID: "acme", EventTypes: []string{"Nope"}}
	if _, err := httpapi.DecodeWebhook(ctx, nil, db, "acme", body, old, time.Now()); err != nil {
		t.Fatalf("an update keeping its undeclared type: %v", err)
	}
	if _, err := httpapi.DecodeWebhook(ctx, nil, nil, "acme", body, nil, time.Now()); err != nil {
		t.Fatalf("without a store to read the catalogue: %v", err)
	}
}
