package hookd_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// ofEvent gives the message an event of type typ.
func ofEvent(typ string) func(*hookd.MessageStatus) {
	return func(m *hookd.MessageStatus) { m.EventID, m.EventType = "evt", typ }
}

// opsTypes returns the types of evs.
func opsTypes(evs []hookd.OperationalEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// TestOperationalEvents: which transition of an outcome yields which
// operational events, in order.
func TestOperationalEvents(t *testing.T) {
	t.Parallel()
	next := at(5 * time.Minute)
	own := ofEvent("Unit.Updated")
	ops := ofEvent(hookd.EventWebhookFailing)
	const (
		failing     = hookd.EventWebhookFailing
		recovered   = hookd.EventWebhookRecovered
		msgFailed   = hookd.EventMessageFailed
		suspendedEv = hookd.EventWebhookSuspended
	)
	tests := []struct {
		name string
		m    hookd.MessageStatus
		w    *hookd.Webhook
		o    hookd.Outcome
		want []string
	}{
		{"success of a healthy webhook", leased(hookd.StateCreated, own), hook(), success(), nil},
		{"first failure starts the streak", leased(hookd.StateCreated, own), hook(), failure(hookd.StateRetrying, next),
			[]string{failing}},
		{"failure within a streak", leased(hookd.StateRetrying, own), hook(failingFor(time.Minute)), failure(hookd.StateRetrying, next), nil},
		{"success ends the streak", leased(hookd.StateRetrying, own), hook(failingFor(time.Minute)), success(),
			[]string{recovered}},
		{"retries spent within a streak", leased(hookd.StateRetrying, own), hook(failingFor(time.Minute)), failure(hookd.StateFailed, time.Time{}),
			[]string{msgFailed}},
		{"retries spent at the first failure", leased(hookd.StateCreated, own), hook(), failure(hookd.StateFailed, time.Time{}),
			[]string{failing, msgFailed}},
		{"the streak at suspend_after suspends", leased(hookd.StateRetrying, own), hook(failingFor(time.Hour)), failure(hookd.StateRetrying, next),
			[]string{suspendedEv}},
		{"suspends and fails for good", leased(hookd.StateRetrying, own), hook(failingFor(time.Hour)), failure(hookd.StateFailed, time.Time{}),
			[]string{msgFailed, suspendedEv}},
		{"suspend_after 0s never suspends", leased(hookd.StateRetrying, own), hook(neverSusp, failingFor(1000*time.Hour)),
			failure(hookd.StateRetrying, next), nil},
		{"already suspended: not again", leased(hookd.StatePending, own), hook(suspended, failingFor(2*time.Hour)),
			failure(hookd.StateRetrying, next), nil},
		{"a stale outcome starts the streak", leased(hookd.StateRetrying, own), hook(), stale(failure(hookd.StateFailed, time.Time{})),
			[]string{failing}}, // the attempt was made; its message does not move
		{"a stale outcome fails nothing for good", leased(hookd.StateRetrying, own), hook(failingFor(time.Minute)),
			stale(failure(hookd.StateFailed, time.Time{})), nil},
		{"deleted webhook", leased(hookd.StateRetrying, own), nil, failure(hookd.StateFailed, time.Time{}), nil},

		// Test messages cause none.
		{"test failure", leased(hookd.StateCreated, own, testMsg), hook(), failure(hookd.StateFailed, time.Time{}), nil},
		{"test failure of a failing webhook", leased(hookd.StateCreated, own, testMsg), hook(failingFor(2 * time.Hour)),
			failure(hookd.StateFailed, time.Time{}), nil},
		{"test success of a failing webhook", leased(hookd.StateCreated, own, testMsg), hook(failingFor(time.Minute)), success(), nil},
		{"a retried test message", leased(hookd.StateRetrying, own, testMsg), hook(failingFor(2 * time.Hour)),
			func() hookd.Outcome {
				o := failure(hookd.StateFailed, time.Time{})
				o.Attempt.Trigger = hookd.TriggerManual
				return o
			}(), nil},

		// Deliveries of operational events: only a suspension is told.
		{"operational: first failure", leased(hookd.StateCreated, ops), hook(), failure(hookd.StateRetrying, next), nil},
		{"operational: retries spent", leased(hookd.StateRetrying, ops), hook(), failure(hookd.StateFailed, time.Time{}), nil},
		{"operational: success ends the streak", leased(hookd.StateRetrying, ops), hook(failingFor(time.Minute)), success(), nil},
		{"operational: suspension", leased(hookd.StateRetrying, ops), hook(failingFor(time.Hour)), failure(hookd.StateFailed, time.Time{}),
			[]string{suspendedEv}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := hookd.ApplyOutcome(tt.m, tt.w, tt.o, t0)
			evs := hookd.OperationalEvents(&tt.m, tt.w, &tr)
			if got := opsTypes(evs); !slices.Equal(got, tt.want) {
				t.Fatalf("events = %v, want %v", got, tt.want)
			}
			for _, e := range evs {
				if e.TenantID != "a" || e.WebhookID != "wh" || e.MessageID != "msg" || e.Payload.Webhook.ID != "wh" ||
					!e.Payload.OccurredAt.Equal(t0) || e.Payload.Message == nil || e.Payload.Message.EventID != "evt" ||
					e.Payload.LastAttempt == nil || e.Payload.LastAttempt.Number != tt.m.AttemptCount+1 {
					t.Errorf("%s: identity = %+v", e.Type, e)
				}
			}
		})
	}
}

// TestOperationalPayloads checks what each event of an outcome says.
func TestOperationalPayloads(t *testing.T) {
	t.Parallel()
	w := hook(failingFor(time.Hour), func(w *hookd.Webhook) {
		w.Number, w.Name, w.URL = 3, "Orders", "https://example.com/hook"
	})
	m := leased(hookd.StateRetrying, ofEvent("Unit.Updated"))
	o := failure(hookd.StateFailed, time.Time{})
	o.Attempt.ID, o.Attempt.DurationMS = "att", 120
	tr := hookd.ApplyOutcome(m, w, o, t0)
	evs := hookd.OperationalEvents(&m, w, &tr)
	if len(evs) != 2 {
		t.Fatalf("events = %v", opsTypes(evs))
	}
	wantWebhook := hookd.OperationalWebhook{ID: "wh", Number: 3, Name: "Orders", URL: "https://example.com/hook"}
	wantAttempt := &hookd.OperationalAttempt{ID: "att", Number: 3, Trigger: hookd.TriggerScheduled, StartedAt: t0,
		DurationMS: 120, StatusCode: hookd.Ptr(500), Error: hookd.Ptr(hookd.AttemptErrStatus)}
	wantMessage := &hookd.OperationalMessage{ID: "msg", EventID: "evt", EventType: "Unit.Updated", AttemptCount: 3}
	since := tp(at(-time.Hour))
	want := []hookd.OperationalPayload{
		{Webhook: wantWebhook, OccurredAt: t0, FailingSince: since, Message: wantMessage, LastAttempt: wantAttempt},
		{Webhook: wantWebhook, OccurredAt: t0, Trigger: hookd.OperationalTriggerAutomatic, FailingSince: since,
			Message: wantMessage, LastAttempt: wantAttempt},
	}
	for i, e := range evs {
		if !reflect.DeepEqual(e.Payload, want[i]) {
			t.Errorf("%s payload\n got  %+v\n want %+v", e.Type, e.Payload, want[i])
		}
	}

	// Recovered names the streak that ended: the webhook as the outcome
	// found it.
	tr = hookd.ApplyOutcome(m, w, success(), t0)
	evs = hookd.OperationalEvents(&m, w, &tr)
	if len(evs) != 1 || evs[0].Type != hookd.EventWebhookRecovered || !evs[0].Payload.FailingSince.Equal(*since) ||
		!evs[0].Payload.LastAttempt.Success {
		t.Fatalf("recovered = %+v", evs)
	}

	// The event to publish: grouped and marked by the webhook.
	in := evs[0].Input()
	if in.Type != hookd.EventWebhookRecovered || in.Group != "wh" || !reflect.DeepEqual(in.Attributes, map[string]string{"webhook_id": "wh"}) {
		t.Fatalf("input = %+v", in)
	}
	var back map[string]any
	if err := json.Unmarshal(in.Payload, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"webhook", "occurred_at", "failing_since", "message", "last_attempt"} {
		if _, ok := back[k]; !ok {
			t.Errorf("payload %s has no %q", in.Payload, k)
		}
	}
	for _, k := range []string{"trigger", "suspended_at"} {
		if _, ok := back[k]; ok {
			t.Errorf("payload %s has %q", in.Payload, k)
		}
	}
}

func TestSuspensionEvents(t *testing.T) {
	t.Parallel()
	active := hook(failingFor(30 * time.Minute))
	susp := hook(suspended, failingFor(2*time.Hour))
	tests := []struct {
		name      string
		w         *hookd.Webhook
		suspend   bool
		want      string
		since, at *time.Time
	}{
		{"suspend by hand", active, true, hookd.EventWebhookSuspended, tp(at(-30 * time.Minute)), nil},
		{"unsuspend", susp, false, hookd.EventWebhookUnsuspended, tp(at(-2 * time.Hour)), tp(at(-time.Hour))},
		{"suspend a suspended webhook", susp, true, "", nil, nil},
		{"unsuspend an active webhook", active, false, "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			updated, _ := hookd.SetSuspended(*tt.w, tt.suspend, t0)
			evs := hookd.SuspensionEvents(tt.w, &updated, t0)
			if tt.want == "" {
				if len(evs) != 0 {
					t.Fatalf("events = %+v, want none", evs)
				}
				return
			}
			if len(evs) != 1 {
				t.Fatalf("events = %+v", evs)
			}
			e := evs[0]
			want := hookd.OperationalPayload{Webhook: hookd.OperationalWebhook{ID: "wh"}, OccurredAt: t0,
				Trigger: hookd.OperationalTriggerManual, FailingSince: tt.since, SuspendedAt: tt.at}
			if e.Type != tt.want || e.TenantID != "a" || e.WebhookID != "wh" || e.MessageID != "" || !reflect.DeepEqual(e.Payload, want) {
				t.Fatalf("event = %+v\nwant type %s, payload %+v", e, tt.want, want)
			}
		})
	}
}

// TestMatchesOperational: `*` does not select operational events, a
// pattern that names them does, and a webhook never gets one about
// itself.
func TestMatchesOperational(t *testing.T) {
	t.Parallel()
	about := func(id string) map[string]string { return map[string]string{hookd.OperationalWebhookAttribute: id} }
	tests := []struct {
		name     string
		patterns []string
		filter   map[string]string
		typ      string
		attrs    map[string]string
		want     bool
	}{
		{"* takes the tenant's events", []string{"*"}, nil, "Unit.Updated", nil, true},
		{"* takes no operational event", []string{"*"}, nil, hookd.EventWebhookSuspended, about("other"), false},
		{"all takes no operational event", []string{"all"}, nil, hookd.EventMessageFailed, about("other"), false},
		{"hookd.* takes them", []string{"hookd.*"}, nil, hookd.EventWebhookSuspended, about("other"), true},
		{"hookd.webhook.* takes webhook events", []string{"hookd.webhook.*"}, nil, hookd.EventWebhookFailing, about("other"), true},
		{"hookd.webhook.* takes no message event", []string{"hookd.webhook.*"}, nil, hookd.EventMessageFailed, about("other"), false},
		{"an exact type", []string{"*", hookd.EventMessageFailed}, nil, hookd.EventMessageFailed, about("other"), true},
		{"never about itself", []string{"hookd.*"}, nil, hookd.EventWebhookSuspended, about("wh"), false},
		{"never about itself, exact type", []string{hookd.EventMessageFailed}, nil, hookd.EventMessageFailed, about("wh"), false},
		{"a filter on the webhook", []string{"hookd.*"}, about("b"), hookd.EventWebhookSuspended, about("b"), true},
		{"a filter on another webhook", []string{"hookd.*"}, about("b"), hookd.EventWebhookSuspended, about("c"), false},
		{"the tenant's webhook_id attribute is its own", []string{"*"}, nil, "Unit.Updated", about("wh"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := hook(func(w *hookd.Webhook) { w.EventTypes, w.Filter = tt.patterns, tt.filter })
			if got := w.Matches(tt.typ, tt.attrs); got != tt.want {
				t.Fatalf("Matches(%s, %v) = %v, want %v", tt.typ, tt.attrs, got, tt.want)
			}
		})
	}
}

func TestCheckPublishable(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]bool{"Unit.Updated": true, "hookd": true, "hookdx.y": true,
		hookd.EventWebhookSuspended: false, "hookd.anything": false} {
		var f hookd.Fields
		hookd.CheckPublishable(typ, "events[1].", &f)
		if got := len(f) == 0; got != want || (!got && f[0].Field != "events[1].type") {
			t.Errorf("CheckPublishable(%q) = %v, want publishable %v", typ, f, want)
		}
	}
	if !slices.Equal(hookd.OperationalEventTypes, []string{"hookd.webhook.recovered", "hookd.webhook.failing",
		"hookd.message.failed", "hookd.webhook.suspended", "hookd.webhook.unsuspended"}) {
		t.Fatalf("types = %v", hookd.OperationalEventTypes)
	}
}
