package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestPublishEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	e.mustWebhook("acme", hook("a"))                                                      // Unit.*
	e.mustWebhook("acme", merge(hook("b"), "event_types", []string{"Unit.Updated"}))      // exact
	e.mustWebhook("acme", merge(hook("c"), "event_types", []string{"Invoice.*"}))         // no match
	e.mustWebhook("acme", merge(hook("d"), "filter", map[string]string{"party_id": "7"})) // filtered out
	key := e.mustKey("acme", hookd.ScopeEventsWrite, hookd.ScopeEventsRead)
	wakes := e.deliv.wakes.Load()

	body := map[string]any{"type": "Unit.Updated", "payload": map[string]any{"id": 17, "name": "3rd floor"},
		"group": "property-12", "attributes": map[string]string{"party_id": "42"}, "idempotency_key": "erp-7781"}
	r := e.do("POST", "/v1/tenants/acme/events", key, body).want(t, 202)
	id := r.str("id")
	if !strings.HasPrefix(id, "evt_") || r.field("messages") != 2.0 || r.field("duplicate") != nil {
		t.Fatalf("publish: %s", r.Body)
	}
	if e.deliv.wakes.Load() == wakes {
		t.Error("publish did not wake the deliverer")
	}
	d := e.do("POST", "/v1/tenants/acme/events", key, body).want(t, 200)
	if d.str("id") != id || d.field("duplicate") != true {
		t.Fatalf("duplicate: %s", d.Body)
	}
	e.do("POST", "/v1/tenants/acme/events", key, merge(body, "payload", map[string]any{"id": 18})).want(t, 409)

	// The key may come as a header instead.
	h := e.do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "Unit.Created"}, "Idempotency-Key", "hdr-1").want(t, 202)
	e.do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "Unit.Created"}, "Idempotency-Key", "hdr-1").want(t, 200)
	e.do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "Unit.Created", "idempotency_key": "x"}, "Idempotency-Key", "y").
		wantFields(t, 400, "idempotency_key")

	g := e.do("GET", "/v1/tenants/acme/events/"+id, key, nil).want(t, 200)
	if g.str("type") != "Unit.Updated" || g.str("group") != "property-12" || g.str("attributes.party_id") != "42" ||
		g.field("payload.id") != 17.0 || !strings.HasSuffix(g.str("created_at"), "Z") {
		t.Fatalf("get event: %s", g.Body)
	}
	e.do("GET", "/v1/tenants/acme/events/evt_nope", key, nil).want(t, 404)

	l := e.do("GET", "/v1/tenants/acme/events?type=Unit.Created", key, nil).want(t, 200)
	if len(l.data()) != 1 || l.data()[0]["id"] != h.str("id") {
		t.Fatalf("list by type: %s", l.Body)
	}
	l = e.do("GET", "/v1/tenants/acme/events?limit=1", key, nil).want(t, 200)
	if len(l.data()) != 1 || l.JSON["next_cursor"] == nil {
		t.Fatalf("list limit 1: %s", l.Body)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if l := e.do("GET", "/v1/tenants/acme/events?since="+future, key, nil).want(t, 200); len(l.data()) != 0 {
		t.Fatalf("since future: %s", l.Body)
	}
	e.do("GET", "/v1/tenants/acme/events?since=yesterday&until=x&limit=0", key, nil).wantFields(t, 400, "since", "until", "limit")
}

func TestPublishValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	tests := []struct {
		name   string
		body   any
		status int
		fields []string
	}{
		{"type missing", map[string]any{"payload": 1}, 400, []string{"type"}},
		{"type bad", map[string]any{"type": "a b"}, 400, []string{"type"}},
		{"type too long", map[string]any{"type": strings.Repeat("t", 256)}, 400, []string{"type"}},
		{"wrong types", map[string]any{"type": 1, "group": 2, "attributes": []int{}, "idempotency_key": true}, 400,
			[]string{"type", "group", "attributes", "idempotency_key"}},
		{"attribute value not a string", map[string]any{"type": "t", "attributes": map[string]any{"a": 1}}, 400, []string{"attributes.a"}},
		{"unknown field", map[string]any{"type": "t", "data": 1}, 400, []string{"data"}},
		{"payload too large", map[string]any{"type": "t", "payload": strings.Repeat("x", 1100)}, 413, []string{"payload"}},
		{"body too large", `{"type":"t","payload":"` + strings.Repeat("x", 200<<10) + `"}`, 413, nil},
		{"malformed", `{"type":`, 400, nil},
		{"not JSON content type", "type=t", 415, nil},
		{"payload at the limit", map[string]any{"type": "t", "payload": strings.Repeat("x", 1022)}, 202, nil},
		{"no payload", map[string]any{"type": "t"}, 202, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hdr []string
			if tt.status == 415 {
				hdr = []string{"Content-Type", "application/x-www-form-urlencoded"}
			}
			r := e.do("POST", "/v1/tenants/acme/events", rootToken, tt.body, hdr...)
			if tt.fields != nil {
				r.wantFields(t, tt.status, tt.fields...)
			} else {
				r.want(t, tt.status)
			}
		})
	}
}

func TestPublishBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	e.mustWebhook("acme", hook("a"))
	r := e.do("POST", "/v1/tenants/acme/events/batch", rootToken, map[string]any{"events": []any{
		map[string]any{"type": "Unit.Updated", "payload": 1}, map[string]any{"type": "Other"}, map[string]any{"type": "Unit.X", "idempotency_key": "k1"},
	}}).want(t, 202)
	data := r.data()
	if len(data) != 3 || data[0]["messages"] != 1.0 || data[1]["messages"] != 0.0 || !strings.HasPrefix(data[2]["id"].(string), "evt_") {
		t.Fatalf("batch: %s", r.Body)
	}
	// All or nothing: one bad event stores none.
	before := len(e.do("GET", "/v1/tenants/acme/events?limit=1000", rootToken, nil).want(t, 200).data())
	e.do("POST", "/v1/tenants/acme/events/batch", rootToken, map[string]any{"events": []any{
		map[string]any{"type": "ok"}, map[string]any{"type": "bad type", "x": 1}, "nope", map[string]any{},
	}}).wantFields(t, 400, "events[1].type", "events[1].x", "events[2]", "events[3].type")
	e.do("POST", "/v1/tenants/acme/events/batch", rootToken, map[string]any{"events": []any{
		map[string]any{"type": "ok"}, map[string]any{"type": "ok", "payload": strings.Repeat("p", 2000)},
	}}).wantFields(t, 413, "events[1].payload")
	if after := len(e.do("GET", "/v1/tenants/acme/events?limit=1000", rootToken, nil).want(t, 200).data()); after != before {
		t.Fatalf("a rejected batch stored %d events", after-before)
	}
	e.do("POST", "/v1/tenants/acme/events/batch", rootToken, map[string]any{"events": []any{}}).wantFields(t, 400, "events")
	e.do("POST", "/v1/tenants/acme/events/batch", rootToken, map[string]any{}).wantFields(t, 400, "events")
	e.do("POST", "/v1/tenants/acme/events/batch", rootToken, map[string]any{"events": map[string]any{}}).wantFields(t, 400, "events")
	many := make([]any, 1001)
	for i := range many {
		many[i] = map[string]any{"type": "t"}
	}
	e.do("POST", "/v1/tenants/acme/events/batch", rootToken, map[string]any{"events": many}).wantFields(t, 400, "events")
	e.do("POST", "/v1/tenants/acme/events/batch", rootToken, map[string]any{"events": many[:1]}, "Idempotency-Key", "k").
		wantFields(t, 400, "Idempotency-Key")
	// A duplicate in a batch is reported per event.
	d := e.do("POST", "/v1/tenants/acme/events/batch", rootToken, map[string]any{"events": []any{
		map[string]any{"type": "Unit.X", "idempotency_key": "k1"}}}).want(t, 202)
	if d.data()[0]["duplicate"] != true || d.data()[0]["id"] != data[2]["id"] {
		t.Fatalf("duplicate in batch: %s", d.Body)
	}
}

func TestMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	wh := e.mustWebhook("acme", merge(hook("m"), "max_retries", 0))
	key := e.mustKey("acme", hookd.ScopeMessagesRead, hookd.ScopeMessagesWrite)
	ev1 := e.do("POST", "/v1/tenants/acme/events", rootToken, map[string]any{"type": "Unit.A", "group": "g"}).want(t, 202).str("id")
	e.do("POST", "/v1/tenants/acme/events", rootToken, map[string]any{"type": "Unit.B"}).want(t, 202)

	l := e.do("GET", "/v1/tenants/acme/messages?webhook_id="+wh, key, nil).want(t, 200)
	if len(l.data()) != 2 {
		t.Fatalf("messages: %s", l.Body)
	}
	m1 := l.data()[0]
	if m1["event_id"] != ev1 || m1["state"] != "created" || m1["attempt_count"] != 0.0 || m1["webhook_id"] != wh || m1["group"] != "g" {
		t.Fatalf("message: %v", m1)
	}
	id := m1["id"].(string)
	if l := e.do("GET", "/v1/tenants/acme/messages?event_id="+ev1, key, nil).want(t, 200); len(l.data()) != 1 {
		t.Fatalf("by event: %s", l.Body)
	}
	if l := e.do("GET", "/v1/tenants/acme/messages?event_type=Unit.B&state=created&state=pending", key, nil).want(t, 200); len(l.data()) != 1 {
		t.Fatalf("by type and state: %s", l.Body)
	}
	e.do("GET", "/v1/tenants/acme/messages?state=bogus&since=x", key, nil).wantFields(t, 400, "state", "since")

	// Fail the first message by hand through the store: one failed attempt.
	ctx := context.Background()
	now := time.Now()
	ds, err := e.db.Claim(ctx, now, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var outs []hookd.Outcome
	for _, d := range ds {
		outs = append(outs, hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateFailed,
			Attempt: hookd.Attempt{ID: hookd.NewID(hookd.PrefixAttempt), TenantID: "acme", MessageID: d.Message.ID, WebhookID: wh,
				Trigger: hookd.TriggerScheduled, StartedAt: now, DurationMS: 3, StatusCode: 500, Error: hookd.AttemptErrStatus, ResponseBody: "boom"}})
	}
	if err := e.db.Complete(ctx, outs, now); err != nil {
		t.Fatal(err)
	}
	g := e.do("GET", "/v1/tenants/acme/messages/"+id, key, nil).want(t, 200)
	if g.str("state") != "failed" || g.field("attempt_count") != 1.0 || g.field("last_status_code") != 500.0 {
		t.Fatalf("failed message: %s", g.Body)
	}
	a := e.do("GET", "/v1/tenants/acme/messages/"+id+"/attempts", key, nil).want(t, 200)
	if len(a.data()) != 1 || a.data()[0]["status_code"] != 500.0 || a.data()[0]["success"] != false || a.data()[0]["response_body"] != "boom" ||
		a.data()[0]["number"] != 1.0 || a.data()[0]["trigger"] != "scheduled" {
		t.Fatalf("attempts: %s", a.Body)
	}
	e.do("GET", "/v1/tenants/acme/messages/msg_nope/attempts", key, nil).want(t, 404)

	// Recover re-queues the failed messages of the window.
	rec := e.do("POST", "/v1/tenants/acme/webhooks/"+wh+"/recover", rootToken,
		map[string]string{"since": now.Add(-time.Hour).UTC().Format(time.RFC3339)}).want(t, 202)
	if rec.field("count") == 0.0 {
		t.Fatalf("recover: %s", rec.Body)
	}

	wakes := e.deliv.wakes.Load()
	r := e.do("POST", "/v1/tenants/acme/messages/"+id+"/retry", key, nil).want(t, 200)
	if s := r.str("state"); s == "failed" || s == "successful" {
		t.Fatalf("retry left state %s", s)
	}
	if e.deliv.wakes.Load() == wakes {
		t.Error("retry did not wake the deliverer")
	}
	e.do("POST", "/v1/tenants/acme/messages/"+id+"/abort", key, nil).want(t, 200)
	e.do("POST", "/v1/tenants/acme/messages/"+id+"/abort", key, nil).want(t, 409)
	e.do("POST", "/v1/tenants/acme/messages/"+id+"/resolve", key, nil).want(t, 409)
	other := l.data()[1]["id"].(string)
	res := e.do("POST", "/v1/tenants/acme/messages/"+other+"/resolve", key, nil).want(t, 200)
	if res.str("state") != "resolved" {
		t.Fatalf("resolve: %s", res.Body)
	}
	e.do("POST", "/v1/tenants/acme/messages/"+other+"/retry", key, `{"now": true}`).wantFields(t, 400, "now")
	e.do("POST", "/v1/tenants/acme/messages/msg_nope/retry", key, nil).want(t, 404)

	// Deleting the webhook aborts what it had not delivered.
	e.do("POST", "/v1/tenants/acme/events", rootToken, map[string]any{"type": "Unit.C"}).want(t, 202)
	e.do("DELETE", "/v1/tenants/acme/webhooks/"+wh, rootToken, nil).want(t, 204)
	l = e.do("GET", "/v1/tenants/acme/messages?event_type=Unit.C", key, nil).want(t, 200)
	if len(l.data()) != 1 || l.data()[0]["state"] != "aborted" {
		t.Fatalf("after delete: %s", l.Body)
	}
}

func TestMessagesPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	e.mustWebhook("acme", hook("p"))
	for i := range 5 {
		e.do("POST", "/v1/tenants/acme/events", rootToken, map[string]any{"type": fmt.Sprintf("Unit.%d", i)}).want(t, 202)
	}
	seen, cursor := 0, ""
	for range 10 {
		r := e.do("GET", "/v1/tenants/acme/messages?limit=2&cursor="+cursor, rootToken, nil).want(t, 200)
		seen += len(r.data())
		c, ok := r.JSON["next_cursor"].(string)
		if !ok {
			break
		}
		cursor = c
	}
	if seen != 5 {
		t.Fatalf("walked %d messages, want 5", seen)
	}
}
