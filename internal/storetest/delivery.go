package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testClaimComplete(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), func(w *hookd.Webhook) { w.Headers = map[string][]string{"X-A": {"1"}} })
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Fatalf("NextDue of an empty store = %v, %v", ok, err)
	}
	res := mustPublish(t, s, "a", T0, hookd.EventInput{Type: "Unit.Updated", Payload: []byte(`{"id":1}`), Group: "g"})
	if due, ok, err := s.NextDue(ctx); err != nil || !ok || !due.Equal(T0) {
		t.Fatalf("NextDue = %v, %v, %v; want %v", due, ok, err, T0)
	}
	if ds := claim(t, s, at(-time.Millisecond), 10); len(ds) != 0 {
		t.Fatalf("claimed %d messages before they were due", len(ds))
	}
	now := at(time.Second)
	ds := claim(t, s, now, 10)
	if len(ds) != 1 {
		t.Fatalf("claimed %d, want 1", len(ds))
	}
	d := ds[0]
	if d.Lease == 0 || d.Trigger != hookd.TriggerScheduled || d.Message.State != hookd.StateCreated ||
		d.Event.ID != res[0].EventID || string(d.Event.Payload) != `{"id":1}` || d.Event.Group != "g" ||
		d.Webhook.ID != w.ID || d.Webhook.URL != w.URL || len(d.Webhook.Secrets) != 1 || d.Webhook.Headers["X-A"][0] != "1" {
		t.Fatalf("delivery = %+v", d)
	}
	// Leased: not claimed again before the lease ends, which is when it is
	// due next.
	if ds := claim(t, s, now.Add(Lease-time.Millisecond), 10); len(ds) != 0 {
		t.Fatalf("claimed a leased message again")
	}
	if due, ok, err := s.NextDue(ctx); err != nil || !ok || !due.Equal(now.Add(Lease)) {
		t.Fatalf("NextDue while leased = %v, %v, %v; want %v", due, ok, err, now.Add(Lease))
	}
	done := at(2 * time.Second)
	complete(t, s, done, success(d, done))
	m := wantState(t, s, "a", d.Message.ID, hookd.StateSuccessful)
	if m.AttemptCount != 1 || m.LastStatusCode != 200 || m.LastAttemptAt == nil || !m.LastAttemptAt.Equal(done) ||
		m.NextAttemptAt != nil || !m.UpdatedAt.Equal(done) {
		t.Fatalf("message after success = %+v", m)
	}
	atts, err := s.ListAttempts(ctx, "a", m.ID, hookd.Page{})
	must(t, err)
	if len(atts) != 1 {
		t.Fatalf("%d attempts, want 1", len(atts))
	}
	a := atts[0]
	if a.ID == "" || a.Number != 1 || a.MessageID != m.ID || a.WebhookID != w.ID || a.TenantID != "a" || !a.Success ||
		a.StatusCode != 200 || a.DurationMS != 12 || a.Trigger != hookd.TriggerScheduled || !a.StartedAt.Equal(done) {
		t.Fatalf("attempt = %+v", a)
	}
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Fatalf("NextDue after success = %v, %v", ok, err)
	}
	if ds := claim(t, s, at(time.Hour), 10); len(ds) != 0 {
		t.Fatal("claimed a successful message")
	}
	_, err = s.ListAttempts(ctx, "a", "msg_missing", hookd.Page{})
	wantCode(t, err, hookd.ENOTFOUND)
	wantCode(t, s.Complete(ctx, []hookd.Outcome{{MessageID: m.ID, State: hookd.StatePending}}, done), hookd.EINVALID)
}

func testClaimOrderAndLimit(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1))
	// Published newest first: claim goes by due time, not by id.
	var msgIDs []string
	for i := 4; i >= 0; i-- {
		r := mustPublish(t, s, "a", at(time.Duration(i)*time.Minute), ev("x", ""))
		msgIDs = append([]string{messageOf(t, s, "a", w.ID, r[0].EventID).ID}, msgIDs...)
	}
	now := at(time.Hour)
	got := ids(claim(t, s, now, 2), func(d *hookd.Delivery) string { return d.Message.ID })
	slices.Sort(got)
	first := slices.Sorted(slices.Values(msgIDs[:2]))
	if !slices.Equal(got, first) {
		t.Fatalf("claimed %v with limit 2, want the two due first %v", got, first)
	}
	wantClaim(t, s, now, msgIDs[2:]...)
	if got := claim(t, s, now, 0); len(got) != 0 {
		t.Fatalf("claimed %d with limit 0", len(got))
	}
}

func testRetrySchedule(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1))
	r := mustPublish(t, s, "a", T0, ev("x", ""))
	id := messageOf(t, s, "a", w.ID, r[0].EventID).ID
	next := at(5 * time.Minute)
	deliverOne(t, s, T0, id, func(d *hookd.Delivery, now time.Time) hookd.Outcome { return failure(d, now, next) })
	m := wantState(t, s, "a", id, hookd.StateRetrying)
	if m.AttemptCount != 1 || m.NextAttemptAt == nil || !m.NextAttemptAt.Equal(next) || m.LastStatusCode != 500 ||
		m.LastError != hookd.AttemptErrStatus {
		t.Fatalf("retrying message = %+v", m)
	}
	if due, ok, err := s.NextDue(ctx); err != nil || !ok || !due.Equal(next) {
		t.Fatalf("NextDue = %v, %v, %v; want %v", due, ok, err, next)
	}
	wantClaim(t, s, next.Add(-time.Millisecond))
	deliverOne(t, s, next, id, func(d *hookd.Delivery, now time.Time) hookd.Outcome {
		if d.Message.State != hookd.StateRetrying || d.Message.AttemptCount != 1 || d.Message.Tries != 1 {
			t.Errorf("claimed retry = %+v", d.Message)
		}
		return failHard(d, now)
	})
	m = wantState(t, s, "a", id, hookd.StateFailed)
	if m.AttemptCount != 2 || m.NextAttemptAt != nil {
		t.Fatalf("failed message = %+v", m)
	}
	atts, err := s.ListAttempts(ctx, "a", id, hookd.Page{})
	must(t, err)
	if len(atts) != 2 || atts[0].Number != 1 || atts[1].Number != 2 || atts[1].ResponseBody != "boom" {
		t.Fatalf("attempts = %+v", atts)
	}
	atts, err = s.ListAttempts(ctx, "a", id, hookd.Page{After: atts[0].ID})
	must(t, err)
	if len(atts) != 1 || atts[0].Number != 2 {
		t.Fatalf("attempts after the first = %+v", atts)
	}
	wantClaim(t, s, at(48*time.Hour))
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Fatalf("NextDue after failure = %v, %v", ok, err)
	}
}

func testLeaseExpiryAndStaleLease(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1))
	r := mustPublish(t, s, "a", T0, ev("x", ""))
	id := messageOf(t, s, "a", w.ID, r[0].EventID).ID
	first := wantClaim(t, s, T0, id)[id]
	// The worker crashed: after the lease the message is due again by
	// itself and claimed with another lease.
	second := wantClaim(t, s, T0.Add(Lease), id)[id]
	if second.Lease == first.Lease {
		t.Fatal("a new claim reused the lease")
	}
	// The late outcome of the first claim is recorded but moves nothing.
	complete(t, s, at(2*Lease), failure(first, at(90*time.Second), at(time.Hour)))
	m := wantState(t, s, "a", id, hookd.StateCreated)
	if m.AttemptCount != 1 || m.Tries != 0 {
		t.Fatalf("after a stale outcome: attempt_count %d tries %d, want 1, 0", m.AttemptCount, m.Tries)
	}
	// The current lease's outcome applies and numbers its attempt 2.
	complete(t, s, at(2*Lease), success(second, at(2*Lease)))
	m = wantState(t, s, "a", id, hookd.StateSuccessful)
	if m.AttemptCount != 2 {
		t.Fatalf("attempt_count = %d, want 2", m.AttemptCount)
	}
	// An outcome for a finished message (its lease is gone) changes nothing.
	complete(t, s, at(3*Lease), failure(second, at(3*Lease), at(time.Hour)))
	wantState(t, s, "a", id, hookd.StateSuccessful)
	atts, err := s.ListAttempts(ctx, "a", id, hookd.Page{})
	must(t, err)
	if len(atts) != 3 || atts[0].Number != 1 || atts[1].Number != 2 || atts[2].Number != 3 || atts[0].Success || !atts[1].Success {
		t.Fatalf("attempts = %+v", atts)
	}
	// Unknown messages are skipped.
	complete(t, s, at(3*Lease), hookd.Outcome{MessageID: "msg_missing", Lease: 1, State: hookd.StateSuccessful})
}

func testReleaseLeases(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1))
	r := mustPublish(t, s, "a", T0, ev("x", ""), ev("y", ""), ev("z", ""))
	id0 := messageOf(t, s, "a", w.ID, r[0].EventID).ID
	id1 := messageOf(t, s, "a", w.ID, r[1].EventID).ID
	id2 := messageOf(t, s, "a", w.ID, r[2].EventID).ID
	ds := wantClaim(t, s, T0, id0, id1, id2)
	complete(t, s, T0, failure(ds[id2], T0, at(time.Hour))) // not leased any more: keeps its schedule
	must(t, s.ReleaseLeases(ctx, at(time.Second)))
	if due, ok, err := s.NextDue(ctx); err != nil || !ok || !due.Equal(at(time.Second)) {
		t.Fatalf("NextDue after ReleaseLeases = %v, %v, %v", due, ok, err)
	}
	again := wantClaim(t, s, at(time.Second), id0, id1)
	// The released leases are stale.
	complete(t, s, at(2*time.Second), success(ds[id0], at(2*time.Second)), success(again[id1], at(2*time.Second)))
	wantState(t, s, "a", id0, hookd.StateCreated)
	wantState(t, s, "a", id1, hookd.StateSuccessful)
	wantState(t, s, "a", id2, hookd.StateRetrying)
}

func testConcurrentClaims(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1))
	evs := make([]hookd.EventInput, 300)
	for i := range evs {
		evs[i] = ev("x", "")
	}
	mustPublish(t, s, "a", T0, evs...)
	// Four workers claim and complete until nothing is due: every message
	// is claimed exactly once.
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := s.Claim(ctx, T0, 7, Lease)
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				outs := make([]hookd.Outcome, len(ds))
				mu.Lock()
				for i, d := range ds {
					seen[d.Message.ID]++
					outs[i] = success(d, T0)
				}
				mu.Unlock()
				if err := s.Complete(ctx, outs, T0); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != len(evs) {
		t.Fatalf("claimed %d distinct messages, want %d", len(seen), len(evs))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("message %s claimed %d times", id, n)
		}
	}
	ms, err := s.ListMessages(ctx, "a", hookd.MessageFilter{WebhookID: w.ID, States: []hookd.MessageState{successful},
		Page: hookd.Page{Limit: 1000}})
	must(t, err)
	if len(ms) != len(evs) {
		t.Fatalf("%d successful messages, want %d", len(ms), len(evs))
	}
}
