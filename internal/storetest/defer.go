package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testDeferMessage(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), grouped(false))
	m := publishIDs(t, s, w, T0, "", "g", "g")
	ds := wantClaim(t, s, T0, m[0], m[1])
	due := at(10 * time.Second)

	// A stale lease (or none) is ignored: the message stays leased.
	must(t, s.DeferMessage(ctx, m[0], ds[m[0]].Lease+1, due))
	must(t, s.DeferMessage(ctx, m[0], 0, due))
	must(t, s.DeferMessage(ctx, "msg_missing", ds[m[0]].Lease, due))
	if next, ok, err := s.NextDue(ctx); err != nil || !ok || !next.Equal(T0.Add(Lease)) {
		t.Fatalf("NextDue after stale deferrals = %v, %v, %v; want the lease's end %v", next, ok, err, T0.Add(Lease))
	}

	// The current lease: due again at due, nothing recorded or spent.
	must(t, s.DeferMessage(ctx, m[0], ds[m[0]].Lease, due))
	must(t, s.DeferMessage(ctx, m[1], ds[m[1]].Lease, due.Add(time.Second)))
	if next, ok, err := s.NextDue(ctx); err != nil || !ok || !next.Equal(due) {
		t.Fatalf("NextDue after deferral = %v, %v, %v; want %v", next, ok, err, due)
	}
	got := wantState(t, s, "a", m[0], created)
	if got.AttemptCount != 0 || got.Tries != 0 || got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(due) {
		t.Fatalf("deferred message = %+v", got)
	}
	if atts, err := s.ListAttempts(ctx, "a", m[0], hookd.Page{}); err != nil || len(atts) != 0 {
		t.Fatalf("attempts of a deferred message = %v, %v", atts, err)
	}
	// The group stays blocked by its deferred head.
	wantState(t, s, "a", m[2], pending)
	wantClaim(t, s, due.Add(-time.Millisecond))
	// The old lease is stale now: a second deferral and a late outcome
	// move nothing (the outcome's attempt is recorded).
	must(t, s.DeferMessage(ctx, m[0], ds[m[0]].Lease, at(time.Hour)))
	complete(t, s, due, success(ds[m[0]], due))
	wantState(t, s, "a", m[0], created)
	again := wantClaim(t, s, due, m[0])
	if again[m[0]].Lease == ds[m[0]].Lease {
		t.Fatal("the claim after a deferral reused the lease")
	}
	complete(t, s, due, success(again[m[0]], due))
	got = wantState(t, s, "a", m[0], successful)
	if got.AttemptCount != 2 {
		t.Fatalf("attempt_count = %d, want 2 (the stale outcome and this one)", got.AttemptCount)
	}

	// A retrying message stays retrying with its retry count.
	g := wantClaim(t, s, due.Add(time.Second), m[1])[m[1]]
	complete(t, s, due.Add(time.Second), failure(g, due.Add(time.Second), at(time.Minute)))
	g = wantClaim(t, s, at(time.Minute), m[1])[m[1]]
	must(t, s.DeferMessage(ctx, m[1], g.Lease, at(2*time.Minute)))
	got = wantState(t, s, "a", m[1], retrying)
	if got.Tries != 1 || got.AttemptCount != 1 || !got.NextAttemptAt.Equal(at(2*time.Minute)) {
		t.Fatalf("deferred retrying message = %+v", got)
	}

	// A message held while in flight stays held when deferred and resumes
	// at its deferred time when released.
	g = wantClaim(t, s, at(2*time.Minute), m[1])[m[1]]
	_, err := s.SetSuspended(ctx, "a", w.ID, true, at(2*time.Minute))
	must(t, err)
	must(t, s.DeferMessage(ctx, m[1], g.Lease, at(3*time.Minute)))
	wantState(t, s, "a", m[1], pending)
	wantClaim(t, s, at(time.Hour))
	_, err = s.SetSuspended(ctx, "a", w.ID, false, at(4*time.Minute))
	must(t, err)
	if next, ok, err := s.NextDue(ctx); err != nil || !ok || !next.Equal(at(3*time.Minute)) {
		t.Fatalf("NextDue of the released deferred message = %v, %v, %v; want %v", next, ok, err, at(3*time.Minute))
	}
	wantClaim(t, s, at(4*time.Minute), m[1])

	// A test message is never deferred into the claimable set.
	d, err := s.CreateTestMessage(ctx, "a", w.ID, ev("webhook.test", ""), T0)
	must(t, err)
	must(t, s.DeferMessage(ctx, d.Message.ID, d.Lease, T0))
	wantClaim(t, s, at(4*time.Minute)) // m[1] is still leased
	wantState(t, s, "a", d.Message.ID, created)
	complete(t, s, T0, success(d, T0))
	wantState(t, s, "a", d.Message.ID, successful)
}

func testAttemptID(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1))
	m := publishIDs(t, s, w, T0, "", "")
	ds := wantClaim(t, s, T0, m...)
	given := success(ds[m[0]], T0)
	given.Attempt.ID = hookd.NewID(hookd.PrefixAttempt)
	generated := failure(ds[m[1]], T0, at(time.Hour))
	complete(t, s, T0, given, generated)
	atts, err := s.ListAttempts(ctx, "a", m[0], hookd.Page{})
	must(t, err)
	if len(atts) != 1 || atts[0].ID != given.Attempt.ID {
		t.Fatalf("attempts = %+v, want one with the outcome's id %s", atts, given.Attempt.ID)
	}
	atts, err = s.ListAttempts(ctx, "a", m[1], hookd.Page{})
	must(t, err)
	if len(atts) != 1 || atts[0].ID == "" {
		t.Fatalf("attempts without a given id = %+v", atts)
	}
	// Completing the same attempt again (a retried Complete whose first
	// answer was lost) records nothing twice and moves nothing.
	complete(t, s, at(time.Second), given)
	got := wantState(t, s, "a", m[0], successful)
	if got.AttemptCount != 1 {
		t.Fatalf("attempt_count after a repeated outcome = %d, want 1", got.AttemptCount)
	}
	if atts, err = s.ListAttempts(ctx, "a", m[0], hookd.Page{}); err != nil || len(atts) != 1 {
		t.Fatalf("attempts after a repeated outcome = %+v, %v", atts, err)
	}
}

func testTestAttemptsKeepStreak(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), func(w *hookd.Webhook) { w.FailureHandling.SuspendAfter = hookd.Duration(time.Hour) })
	webhook := func() *hookd.Webhook {
		t.Helper()
		got, err := s.GetWebhook(ctx, "a", w.ID)
		must(t, err)
		return got
	}
	test := func(now time.Time, ok bool) *hookd.Delivery {
		t.Helper()
		d, err := s.CreateTestMessage(ctx, "a", w.ID, ev("webhook.test", ""), now)
		must(t, err)
		o := failure(d, now, time.Time{})
		if ok {
			o = success(d, now)
		}
		o.Attempt.Trigger = "" // the store knows a test message's trigger
		complete(t, s, now, o)
		return d
	}
	// Failing tests start no streak, however long they go on.
	d := test(T0, false)
	test(at(2*time.Hour), false)
	if got := webhook(); got.FailingSince != nil || got.Suspended {
		t.Fatalf("after failing tests: failing_since %v, suspended %v", got.FailingSince, got.Suspended)
	}
	atts, err := s.ListAttempts(ctx, "a", d.Message.ID, hookd.Page{})
	must(t, err)
	if len(atts) != 1 || atts[0].Trigger != hookd.TriggerTest {
		t.Fatalf("test attempt = %+v, want trigger test", atts)
	}
	// A real streak is neither ended by a successful test nor pushed over
	// its limit by a failing one.
	m := publishIDs(t, s, w, at(3*time.Hour), "")
	deliverOne(t, s, at(3*time.Hour), m[0], func(d *hookd.Delivery, now time.Time) hookd.Outcome {
		return failure(d, now, at(5*time.Hour))
	})
	test(at(3*time.Hour+time.Minute), true)
	if got := webhook(); got.FailingSince == nil || !got.FailingSince.Equal(at(3*time.Hour)) {
		t.Fatalf("failing_since after a successful test = %v, want %v", got.FailingSince, at(3*time.Hour))
	}
	test(at(4*time.Hour+time.Minute), false)
	if got := webhook(); got.Suspended {
		t.Fatal("a failing test suspended the webhook")
	}
	wantState(t, s, "a", m[0], retrying)
	// The next real failure does.
	deliverOne(t, s, at(5*time.Hour), m[0], func(d *hookd.Delivery, now time.Time) hookd.Outcome {
		return failure(d, now, at(6*time.Hour))
	})
	if got := webhook(); !got.Suspended {
		t.Fatal("a real failure two hours into the streak did not suspend the webhook")
	}
}

func testReleaseLeasesEndsTestMessages(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1))
	open, err := s.CreateTestMessage(ctx, "a", w.ID, ev("webhook.test", ""), T0)
	must(t, err)
	done, err := s.CreateTestMessage(ctx, "a", w.ID, ev("webhook.test", ""), T0)
	must(t, err)
	complete(t, s, T0, success(done, T0))
	// Disabling the webhook does not hold a test message in flight.
	w.Enabled = false
	must(t, s.UpdateWebhook(ctx, w))
	wantState(t, s, "a", open.Message.ID, created)

	// The process crashed while sending open: start-up ends it.
	must(t, s.ReleaseLeases(ctx, at(time.Minute)))
	got := wantState(t, s, "a", open.Message.ID, failed)
	if got.NextAttemptAt != nil || got.AttemptCount != 0 || !got.UpdatedAt.Equal(at(time.Minute)) {
		t.Fatalf("ended test message = %+v", got)
	}
	wantState(t, s, "a", done.Message.ID, successful)
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Fatalf("NextDue after ending a test message = %v, %v", ok, err)
	}
	w.Enabled = true
	must(t, s.UpdateWebhook(ctx, w))
	wantClaim(t, s, at(time.Hour))
	// A late outcome of the crashed call is recorded but changes nothing.
	complete(t, s, at(time.Minute), success(open, at(time.Minute)))
	wantState(t, s, "a", open.Message.ID, failed)
	// Like any failed message it may be retried by hand.
	if m, err := s.RetryMessage(ctx, "a", open.Message.ID, at(time.Hour)); err != nil || m.State != retrying {
		t.Fatalf("retry of the ended test message = %+v, %v", m, err)
	}
	wantClaim(t, s, at(time.Hour), open.Message.ID)
}

// testDeferMessages: a store that hands back many messages at once does
// for each what DeferMessage does, stale leases ignored.
func testDeferMessages(t *testing.T, s hookd.Store) {
	bd, ok := s.(interface {
		DeferMessages(ctx context.Context, ds []hookd.Deferral) error
	})
	if !ok {
		t.Skip("the store has no DeferMessages")
	}
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1))
	m := publishIDs(t, s, w, T0, "", "", "")
	ds := wantClaim(t, s, T0, m...)
	must(t, bd.DeferMessages(ctx, []hookd.Deferral{
		{MessageID: m[0], Lease: ds[m[0]].Lease, Due: at(10 * time.Second)},
		{MessageID: m[1], Lease: ds[m[1]].Lease + 1, Due: at(time.Second)}, // stale: ignored
		{MessageID: m[2], Lease: ds[m[2]].Lease, Due: at(20 * time.Second)},
		{MessageID: "msg_missing", Lease: 1, Due: at(time.Second)},
	}))
	must(t, bd.DeferMessages(ctx, nil))
	for id, due := range map[string]time.Time{m[0]: at(10 * time.Second), m[2]: at(20 * time.Second)} {
		got := wantState(t, s, "a", id, created)
		if got.AttemptCount != 0 || got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(due) {
			t.Fatalf("deferred message = %+v, want due %v with no attempt", got, due)
		}
	}
	// m[1] stays leased (until T0+Lease); m[0] is due first, then m[2].
	wantClaim(t, s, at(10*time.Second), m[0])
	wantClaim(t, s, at(20*time.Second), m[2])
	complete(t, s, T0, success(ds[m[1]], T0))
	wantState(t, s, "a", m[1], successful)
}
