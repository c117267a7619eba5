package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/metrics"
	"github.com/hookd/hookd/internal/netguard"
)

// receiver is a webhook target on loopback that answers status and keeps
// the envelopes it was sent.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []envelope
	code int
}

// envelope is what hookd POSTs (docs/API.md, "Delivery protocol").
type envelope struct {
	ID       string                   `json:"id"`
	EventID  string                   `json:"event_id"`
	Type     string                   `json:"type"`
	TenantID string                   `json:"tenant_id"`
	Group    string                   `json:"group"`
	Data     hookd.OperationalPayload `json:"data"`
}

func newReceiver(t *testing.T, code int) *receiver {
	r := &receiver{code: code}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var e envelope
		if err := json.NewDecoder(req.Body).Decode(&e); err != nil {
			t.Errorf("receiver: %v", err)
		}
		r.mu.Lock()
		r.got = append(r.got, e)
		r.mu.Unlock()
		w.WriteHeader(r.code)
	}))
	t.Cleanup(r.Close)
	return r
}

// types returns the types of the envelopes received, first delivery of
// each message only (a failing receiver gets retries).
func (r *receiver) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, e := range r.got {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e.Type)
		}
	}
	return out
}

// of returns the envelopes of type typ received.
func (r *receiver) of(typ string) []envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []envelope
	for _, e := range r.got {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// waitFor polls until cond holds, failing after a generous time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestOperationalEvents runs the delivery engine against receivers on
// loopback: webhook b, subscribed to hookd.*, hears of a's failing
// streak, its message failed for good, its suspension and its
// unsuspension through the API, in order; a, subscribed to hookd.* too,
// never hears of itself, and c (`*`) hears of none. Each event is a log
// line at warn and counted.
func TestOperationalEvents(t *testing.T) {
	t.Parallel()
	ra := newReceiver(t, http.StatusInternalServerError)
	rb := newReceiver(t, http.StatusNoContent)
	rc := newReceiver(t, http.StatusNoContent)

	db := MustOpenDB(t)
	reg := metrics.NewRegistry()
	var logs syncBuffer
	delivery.ReportOperationalEvents(db, slog.New(slog.NewJSONHandler(&logs, nil)), reg)
	engine := delivery.New(delivery.Config{Store: db, Policy: &netguard.Policy{AllowHTTP: true, AllowPrivate: true},
		PollInterval: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- engine.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	e := &env{t: t, db: db, api: newAPI(t, db, engine)}
	e.api.Targets = &netguard.Policy{AllowHTTP: true, AllowPrivate: true}
	e.srv = httptest.NewServer(e.api.Handler())
	t.Cleanup(e.srv.Close)
	e.mustTenant("acme")

	// a fails every attempt: one retry 50 ms later, never suspended by
	// itself (yet).
	a := e.mustWebhook("acme", map[string]any{"name": "a", "url": ra.URL + "/a", "event_types": []string{"Unit.*", "hookd.*"},
		"max_retries": 1, "retry_schedule": []string{"50ms"}, "failure_handling": map[string]any{"suspend_after": "0s"}})
	e.mustWebhook("acme", map[string]any{"name": "b", "url": rb.URL + "/b", "event_types": []string{"hookd.*"}, "grouped": true})
	e.mustWebhook("acme", map[string]any{"name": "c", "url": rc.URL + "/c", "event_types": []string{"*"}})
	base := "/v1/tenants/acme/webhooks/" + a

	// A test call fails, and tells nothing.
	if r := e.do("POST", base+"/test", rootToken, nil).want(t, 200); r.field("success") != false {
		t.Fatalf("test call %s", r.Body)
	}

	// The first event: its first failure begins a's streak, its retry
	// fails it for good.
	e.do("POST", "/v1/tenants/acme/events", rootToken, map[string]any{"type": "Unit.Created", "payload": map[string]int{"n": 1}}).want(t, 202)
	waitFor(t, "b to hear a's message failed", func() bool { return len(rb.of(hookd.EventMessageFailed)) == 1 })
	failedMsg := rb.of(hookd.EventMessageFailed)[0]
	if d := failedMsg.Data; d.Webhook.ID != a || d.Webhook.Name != "a" || d.Webhook.URL != ra.URL+"/a" || d.Message == nil ||
		d.Message.EventType != "Unit.Created" || d.Message.AttemptCount != 2 || d.LastAttempt == nil ||
		*d.LastAttempt.StatusCode != 500 || *d.LastAttempt.Error != hookd.AttemptErrStatus || d.FailingSince == nil ||
		failedMsg.TenantID != "acme" || failedMsg.Group != a {
		t.Fatalf("message.failed delivered as %+v", failedMsg)
	}

	// Now a failure suspends a at once.
	e.do("PATCH", base, rootToken, map[string]any{"failure_handling": map[string]any{"suspend_after": "1ms"}}).want(t, 200)
	e.do("POST", "/v1/tenants/acme/events", rootToken, map[string]any{"type": "Unit.Created", "payload": map[string]int{"n": 2}}).want(t, 202)
	waitFor(t, "b to hear a's suspension", func() bool { return len(rb.of(hookd.EventWebhookSuspended)) == 1 })
	if d := rb.of(hookd.EventWebhookSuspended)[0].Data; d.Trigger != hookd.OperationalTriggerAutomatic || d.Webhook.ID != a {
		t.Fatalf("suspended payload %+v", d)
	}
	if r := e.do("GET", base, rootToken, nil).want(t, 200); r.field("suspended") != true {
		t.Fatalf("a is not suspended: %s", r.Body)
	}

	// Unsuspended through the API, never to be suspended again: a's held
	// message is tried again, begins a new streak and fails for good.
	e.do("PATCH", base, rootToken, map[string]any{"failure_handling": map[string]any{"suspend_after": "0s"}}).want(t, 200)
	e.do("POST", base+"/unsuspend", rootToken, nil).want(t, 200)
	waitFor(t, "b to hear of the second failed message", func() bool { return len(rb.of(hookd.EventMessageFailed)) == 2 })
	if d := rb.of(hookd.EventWebhookUnsuspended)[0].Data; d.Trigger != hookd.OperationalTriggerManual || d.SuspendedAt == nil {
		t.Fatalf("unsuspended payload %+v", d)
	}

	want := []string{hookd.EventWebhookFailing, hookd.EventMessageFailed, hookd.EventWebhookSuspended,
		hookd.EventWebhookUnsuspended, hookd.EventWebhookFailing, hookd.EventMessageFailed}
	if got := rb.types(); !slices.Equal(got, want) {
		t.Fatalf("b heard %v, want %v", got, want)
	}
	for _, typ := range ra.types() {
		if hookd.IsOperational(typ) {
			t.Errorf("a heard %s about itself", typ)
		}
	}
	if got := rc.types(); !slices.Equal(got, []string{"Unit.Created", "Unit.Created"}) {
		t.Errorf("c (*) heard %v, want only the tenant's events", got)
	}

	// Each a log line at warn, without the URL, and counted.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d log lines for %d events:\n%s", len(lines), len(want), logs.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["level"] != "WARN" || rec["type"] != want[i] || rec["tenant_id"] != "acme" || rec["webhook_id"] != a ||
			rec["event_id"] == "" || strings.Contains(line, "127.0.0.1") {
			t.Errorf("log line %s", line)
		}
	}
	var scrape strings.Builder
	reg.WriteText(&scrape)
	for _, s := range []string{`hookd_operational_events_total{type="hookd.webhook.failing"} 2`,
		`hookd_operational_events_total{type="hookd.message.failed"} 2`, `hookd_operational_events_total{type="hookd.webhook.suspended"} 1`,
		`hookd_operational_events_total{type="hookd.webhook.unsuspended"} 1`, `hookd_operational_events_total{type="hookd.webhook.recovered"} 0`} {
		if !strings.Contains(scrape.String(), s+"\n") {
			t.Errorf("metrics lack %s:\n%s", s, scrape.String())
		}
	}
}

// TestPublishOperationalTypeRefused: a tenant cannot publish hookd's
// operational types (a subscriber trusts they come from hookd), but a
// test call may send them.
func TestPublishOperationalTypeRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	e.do("POST", "/v1/tenants/acme/events", rootToken, map[string]any{"type": hookd.EventWebhookSuspended}).
		wantFields(t, 400, "type")
	e.do("POST", "/v1/tenants/acme/events/batch", rootToken, map[string]any{"events": []any{
		map[string]any{"type": "Unit.Created"}, map[string]any{"type": "hookd.anything"}}}).
		wantFields(t, 400, "events[1].type")
	id := e.mustWebhook("acme", merge(hook("x"), "event_types", []string{"hookd.*"}))
	e.deliv.TestFunc = func(_ context.Context, _ *hookd.Webhook, typ string, _ json.RawMessage, _ map[string][]string) (*hookd.Attempt, error) {
		return &hookd.Attempt{Trigger: hookd.TriggerTest, Success: typ == hookd.EventWebhookSuspended}, nil
	}
	if r := e.do("POST", "/v1/tenants/acme/webhooks/"+id+"/test", rootToken,
		map[string]any{"type": hookd.EventWebhookSuspended}).want(t, 200); r.field("success") != true {
		t.Fatalf("test call %s", r.Body)
	}
}
