package storetest

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// opsObserved collects the operational events a store reports, and checks
// that each is reported after its commit: the event already reads.
type opsObserved struct {
	t   *testing.T
	s   hookd.Store
	mu  sync.Mutex
	evs []hookd.OperationalEvent
}

func (o *opsObserved) observe(evs []hookd.OperationalEvent) {
	for _, e := range evs {
		if got, err := o.s.GetEvent(ctx, e.TenantID, e.EventID); err != nil || got.Type != e.Type {
			o.t.Errorf("operational event %s %s reported before its commit: the store reads %+v, %v", e.Type, e.EventID, got, err)
		}
	}
	o.mu.Lock()
	o.evs = append(o.evs, evs...)
	o.mu.Unlock()
}

// take returns the events reported since the last take.
func (o *opsObserved) take() []hookd.OperationalEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	evs := o.evs
	o.evs = nil
	return evs
}

// opsLog follows a tenant's operational events as a test goes on.
type opsLog struct {
	t    *testing.T
	s    hookd.Store
	obs  *opsObserved // nil: the store reports none
	seen int          // events checked so far
}

// next returns the tenant's operational events published since the last
// call, in publish order, and checks that the store reported exactly
// those (when it reports any).
func (l *opsLog) next(tenantID string) []*hookd.Event {
	l.t.Helper()
	all, err := l.s.ListEvents(ctx, tenantID, hookd.EventFilter{Page: hookd.Page{Limit: 1000}})
	must(l.t, err)
	var ops []*hookd.Event
	for _, e := range all {
		if hookd.IsOperational(e.Type) {
			ops = append(ops, e)
		}
	}
	fresh := ops[l.seen:]
	l.seen = len(ops)
	if l.obs != nil {
		reported := l.obs.take()
		got := ids(reported, func(e hookd.OperationalEvent) string { return e.Type + " " + e.EventID })
		want := ids(fresh, func(e *hookd.Event) string { return e.Type + " " + e.ID })
		if !slices.Equal(got, want) {
			l.t.Fatalf("reported %v, published %v", got, want)
		}
	}
	return fresh
}

// want checks that the events published since the last call have the
// types want, in order, and returns them.
func (l *opsLog) want(tenantID string, want ...string) []*hookd.Event {
	l.t.Helper()
	evs := l.next(tenantID)
	if got := ids(evs, func(e *hookd.Event) string { return e.Type }); !slices.Equal(got, want) {
		l.t.Fatalf("operational events = %v, want %v", got, want)
	}
	return evs
}

// payload decodes an operational event's payload and checks what every
// one says: the webhook it is about, as its group and attribute too.
func payload(t *testing.T, e *hookd.Event, w *hookd.Webhook) hookd.OperationalPayload {
	t.Helper()
	var p hookd.OperationalPayload
	must(t, json.Unmarshal(e.Payload, &p))
	if p.Webhook != (hookd.OperationalWebhook{ID: w.ID, Number: w.Number, Name: w.Name, URL: w.URL}) ||
		e.Group != w.ID || e.Attributes[hookd.OperationalWebhookAttribute] != w.ID || len(e.Attributes) != 1 {
		t.Fatalf("%s of webhook %s: group %q, attributes %v, payload %s", e.Type, w.ID, e.Group, e.Attributes, e.Payload)
	}
	return p
}

// receivers returns the webhooks that got a message of the event, sorted.
func receivers(t *testing.T, s hookd.Store, e *hookd.Event) []string {
	t.Helper()
	ms, err := s.ListMessages(ctx, e.TenantID, hookd.MessageFilter{EventID: e.ID})
	must(t, err)
	out := ids(ms, func(m *hookd.Message) string { return m.WebhookID })
	slices.Sort(out)
	return out
}

// byWebhook splits deliveries by their webhook.
func byWebhook(ds map[string]*hookd.Delivery) map[string][]*hookd.Delivery {
	out := map[string][]*hookd.Delivery{}
	for _, d := range ds {
		out[d.Webhook.ID] = append(out[d.Webhook.ID], d)
	}
	return out
}

// testOperationalEvents checks that the store publishes the operational
// events of its transitions and of a suspension by hand, in the same
// call, into the webhook's tenant, to the webhooks that name them but
// never the webhook they are about, and none for test messages or for
// the deliveries of operational events (but their suspension).
func testOperationalEvents(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	// source also takes operational events, but never its own.
	source := mustWebhook(t, s, "a", url(1), types("x", "hookd.*"), func(w *hookd.Webhook) {
		w.FailureHandling.SuspendAfter = hookd.Duration(time.Hour)
	})
	m := publishIDs(t, s, source, T0, "", "", "")
	// Created after the tenant's events: their messages come from
	// operational events alone.
	sub := mustWebhook(t, s, "a", url(2), types("hookd.*"), grouped(false), func(w *hookd.Webhook) {
		w.FailureHandling.SuspendAfter = hookd.Duration(time.Minute)
	})
	mustWebhook(t, s, "a", url(3))                                        // "*": not hookd's events
	only := mustWebhook(t, s, "a", url(4), types("hookd.message.failed")) // one type
	mustWebhook(t, s, "b", url(1), types("hookd.*"))                      // another tenant's
	log := &opsLog{t: t, s: s}
	if os, ok := s.(hookd.OperationalEventStore); ok {
		log.obs = &opsObserved{t: t, s: s}
		os.SetOperationalObserver(log.obs.observe)
		defer os.SetOperationalObserver(nil)
	}

	// The first failure begins the streak.
	ds := wantClaim(t, s, T0, m...)
	o := failure(ds[m[0]], T0, at(30*time.Minute))
	o.Attempt.ID = hookd.NewID(hookd.PrefixAttempt)
	complete(t, s, T0, o)
	evs := log.want("a", hookd.EventWebhookFailing)
	p := payload(t, evs[0], source)
	if p.Message == nil || p.Message.ID != m[0] || p.Message.EventType != "x" || p.Message.EventID == "" ||
		p.LastAttempt == nil || p.LastAttempt.ID != o.Attempt.ID || *p.LastAttempt.StatusCode != 500 ||
		*p.LastAttempt.Error != hookd.AttemptErrStatus || p.LastAttempt.Number != 1 || p.LastAttempt.Success ||
		!p.OccurredAt.Equal(T0) || p.FailingSince == nil || !p.FailingSince.Equal(T0) || p.Trigger != "" {
		t.Fatalf("failing payload %s", evs[0].Payload)
	}
	if got := receivers(t, s, evs[0]); !slices.Equal(got, []string{sub.ID}) {
		t.Fatalf("failing went to %v, want only %s", got, sub.ID)
	}
	if bs, err := s.ListMessages(ctx, "b", hookd.MessageFilter{}); err != nil || len(bs) != 0 {
		t.Fatalf("tenant b got %d messages, %v", len(bs), err)
	}
	// The same outcome again (a retried Complete) publishes nothing.
	complete(t, s, T0, o)
	log.want("a")
	// A refused call publishes nothing.
	bad := failure(ds[m[1]], T0, time.Time{})
	bad.State = aborted
	wantCode(t, s.Complete(ctx, []hookd.Outcome{bad}, T0), hookd.EINVALID)
	log.want("a")

	// An hour into the streak the last try fails: the message failed for
	// good and the webhook is suspended, in that order.
	now := at(time.Hour)
	ds = wantClaim(t, s, now, m[0], m[1], m[2], messageOf(t, s, "a", sub.ID, evs[0].ID).ID)
	complete(t, s, now, failHard(ds[m[0]], now))
	evs = log.want("a", hookd.EventMessageFailed, hookd.EventWebhookSuspended)
	p = payload(t, evs[0], source)
	if p.Message == nil || p.Message.ID != m[0] || p.Message.AttemptCount != 2 || p.LastAttempt.Number != 2 ||
		!p.OccurredAt.Equal(now) || !p.FailingSince.Equal(T0) {
		t.Fatalf("message.failed payload %s", evs[0].Payload)
	}
	if got := receivers(t, s, evs[0]); !slices.Equal(got, sorted(sub.ID, only.ID)) {
		t.Fatalf("message.failed went to %v", got)
	}
	p = payload(t, evs[1], source)
	if p.Trigger != hookd.OperationalTriggerAutomatic || !p.OccurredAt.Equal(now) || !p.FailingSince.Equal(T0) ||
		p.LastAttempt == nil || p.Message.ID != m[0] {
		t.Fatalf("suspended payload %s", evs[1].Payload)
	}
	if got := receivers(t, s, evs[1]); !slices.Equal(got, []string{sub.ID}) {
		t.Fatalf("suspended went to %v", got)
	}
	// The subscriber gets them grouped by the webhook, in order: the
	// first is in flight, the others wait for it.
	wantStates(t, s, "a", sub.ID, created, pending, pending)

	// Unsuspending by hand; doing it again changes nothing and tells
	// nothing.
	later := at(2 * time.Hour)
	_, err := s.SetSuspended(ctx, "a", source.ID, false, later)
	must(t, err)
	evs = log.want("a", hookd.EventWebhookUnsuspended)
	p = payload(t, evs[0], source)
	if p.Trigger != hookd.OperationalTriggerManual || !p.OccurredAt.Equal(later) || p.SuspendedAt == nil ||
		!p.SuspendedAt.Equal(now) || !p.FailingSince.Equal(T0) || p.Message != nil || p.LastAttempt != nil {
		t.Fatalf("unsuspended payload %s", evs[0].Payload)
	}
	if got := receivers(t, s, evs[0]); !slices.Equal(got, []string{sub.ID}) {
		t.Fatalf("unsuspended went to %v", got)
	}
	_, err = s.SetSuspended(ctx, "a", source.ID, false, later)
	must(t, err)
	log.want("a")
	// Suspending by hand.
	_, err = s.SetSuspended(ctx, "a", source.ID, true, later)
	must(t, err)
	evs = log.want("a", hookd.EventWebhookSuspended)
	if p = payload(t, evs[0], source); p.Trigger != hookd.OperationalTriggerManual || p.FailingSince != nil {
		t.Fatalf("suspended by hand: payload %s", evs[0].Payload)
	}
	_, err = s.SetSuspended(ctx, "a", source.ID, false, later)
	must(t, err)
	log.want("a", hookd.EventWebhookUnsuspended)

	// The subscriber's delivery of an operational event fails: its
	// streak begins and the message fails for good in silence, but its
	// suspension, by a later attempt, is told (to source, which takes
	// hookd.*).
	now = at(3 * time.Hour)
	claimed := byWebhook(claimIDsOnly(t, s, now))
	if len(claimed[sub.ID]) != 1 || len(claimed[source.ID]) != 2 {
		t.Fatalf("claimed %v", claimed)
	}
	complete(t, s, now, failHard(claimed[sub.ID][0], now))
	log.want("a")
	now = now.Add(2 * time.Minute)
	complete(t, s, now, failHard(claimed[sub.ID][0], now)) // an attempt whose lease ended counts too
	evs = log.want("a", hookd.EventWebhookSuspended)
	payload(t, evs[0], sub)
	if got := receivers(t, s, evs[0]); !slices.Equal(got, []string{source.ID}) {
		t.Fatalf("the subscriber's suspension went to %v", got)
	}

	// source's streak begins anew and ends: failing, recovered.
	now = at(5 * time.Hour)
	for _, d := range claimed[source.ID] {
		if d.Message.ID == m[1] {
			complete(t, s, now, failure(d, now, at(6*time.Hour)))
		}
	}
	for _, d := range claimed[source.ID] {
		if d.Message.ID == m[2] {
			complete(t, s, now, success(d, now))
		}
	}
	evs = log.want("a", hookd.EventWebhookFailing, hookd.EventWebhookRecovered)
	if p = payload(t, evs[1], source); !p.FailingSince.Equal(now) || p.Message.ID != m[2] || !p.LastAttempt.Success {
		t.Fatalf("recovered payload %s", evs[1].Payload)
	}

	// Test messages tell nothing, even when they fail.
	d, err := s.CreateTestMessage(ctx, "a", source.ID, ev("webhook.test", ""), now)
	must(t, err)
	complete(t, s, now, failHard(d, now))
	log.want("a")
}

// claimIDsOnly claims what is due at now and returns it by message id.
func claimIDsOnly(t *testing.T, s hookd.Store, now time.Time) map[string]*hookd.Delivery {
	t.Helper()
	_, byID := claimIDs(t, s, now)
	return byID
}

func sorted(xs ...string) []string {
	slices.Sort(xs)
	return xs
}
