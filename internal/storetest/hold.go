package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testHoldOnSuspend(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), grouped(false))
	m := publishIDs(t, s, w, T0, "", "g", "g", "h", "")
	// m[4] is retrying when the webhook is suspended: it must come back
	// as retrying, keeping its schedule.
	ds := wantClaim(t, s, T0, m[0], m[1], m[3], m[4])
	complete(t, s, T0, failure(ds[m[4]], T0, at(time.Hour)))
	wantStates(t, s, "a", w.ID, created, created, pending, created, retrying)

	got, err := s.SetSuspended(ctx, "a", w.ID, true, at(time.Second))
	must(t, err)
	if !got.Suspended || got.SuspendedAt == nil || !got.SuspendedAt.Equal(at(time.Second)) || got.Active() {
		t.Fatalf("suspended webhook = %+v", got)
	}
	wantStates(t, s, "a", w.ID, pending, pending, pending, pending, pending)
	// In-flight messages finish: their leases still count.
	complete(t, s, at(2*time.Second), success(ds[m[0]], at(2*time.Second)), failure(ds[m[3]], at(2*time.Second), at(time.Minute)))
	wantStates(t, s, "a", w.ID, successful, pending, pending, pending, pending)
	wantClaim(t, s, at(48*time.Hour))
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Fatalf("NextDue with everything held = %v, %v", ok, err)
	}
	// Publishing to a suspended webhook stores held messages.
	m = append(m, publishIDs(t, s, w, at(3*time.Second), "", "g")...)
	wantStates(t, s, "a", w.ID, successful, pending, pending, pending, pending, pending, pending)
	// Suspending again keeps the first SuspendedAt.
	got, err = s.SetSuspended(ctx, "a", w.ID, true, at(time.Hour))
	must(t, err)
	if !got.SuspendedAt.Equal(at(time.Second)) {
		t.Fatalf("SuspendedAt moved to %v", got.SuspendedAt)
	}

	now := at(10 * time.Minute)
	got, err = s.SetSuspended(ctx, "a", w.ID, false, now)
	must(t, err)
	if got.Suspended || got.SuspendedAt != nil || got.FailingSince != nil || !got.Active() {
		t.Fatalf("unsuspended webhook = %+v", got)
	}
	// Every ungrouped message and each group's head resume, in their
	// former state, due when they were last scheduled (m[4]'s backoff
	// stands) or since they were published; m[1] (in flight when held) is
	// the head of g.
	wantStates(t, s, "a", w.ID, successful, created, pending, retrying, retrying, created, pending)
	for id, want := range map[string]time.Time{m[1]: T0, m[3]: at(time.Minute), m[4]: at(time.Hour), m[5]: at(3 * time.Second)} {
		msg, err := s.GetMessage(ctx, "a", id)
		must(t, err)
		if msg.NextAttemptAt == nil || !msg.NextAttemptAt.Equal(want) {
			t.Errorf("message %s next attempt %v, want %v", id, msg.NextAttemptAt, want)
		}
	}
	ds = wantClaim(t, s, now, m[1], m[3], m[5])
	complete(t, s, now, success(ds[m[1]], now), success(ds[m[3]], now), success(ds[m[5]], now))
	wantClaim(t, s, at(time.Hour), m[2], m[4])
	_, err = s.SetSuspended(ctx, "a", "wh_missing", false, now)
	wantCode(t, err, hookd.ENOTFOUND)
}

func testHoldOnDisable(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), grouped(false))
	m := publishIDs(t, s, w, T0, "", "g", "g")
	wantStates(t, s, "a", w.ID, created, created, pending)

	w.Enabled = false
	must(t, s.UpdateWebhook(ctx, w))
	wantStates(t, s, "a", w.ID, pending, pending, pending)
	wantClaim(t, s, at(time.Hour))
	// A disabled webhook gets no messages.
	if r := mustPublish(t, s, "a", at(time.Second), ev("x", ""), ev("x", "g")); r[0].Messages != 0 || r[1].Messages != 0 {
		t.Fatalf("publish to a disabled webhook = %+v", r)
	}
	// Suspending and unsuspending a disabled webhook releases nothing.
	_, err := s.SetSuspended(ctx, "a", w.ID, true, at(time.Second))
	must(t, err)
	_, err = s.SetSuspended(ctx, "a", w.ID, false, at(2*time.Second))
	must(t, err)
	wantStates(t, s, "a", w.ID, pending, pending, pending)

	w.Enabled = true
	must(t, s.UpdateWebhook(ctx, w))
	wantStates(t, s, "a", w.ID, created, created, pending)
	wantClaim(t, s, at(time.Minute), m[0], m[1])
}

func testSuspendAfter(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), func(w *hookd.Webhook) { w.FailureHandling.SuspendAfter = hookd.Duration(time.Hour) })
	never := mustWebhook(t, s, "a", url(2), func(w *hookd.Webhook) { w.FailureHandling.SuspendAfter = 0 })
	failAt := func(now time.Time) {
		t.Helper()
		var out []hookd.Outcome
		for _, d := range claim(t, s, now, 100) {
			out = append(out, failure(d, now, now.Add(time.Minute)))
		}
		if len(out) == 0 {
			t.Fatalf("claimed nothing at %v", now)
		}
		complete(t, s, now, out...)
	}
	streak := func(id string) *time.Time {
		t.Helper()
		got, err := s.GetWebhook(ctx, "a", id)
		must(t, err)
		if got.Suspended != (got.SuspendedAt != nil) {
			t.Fatalf("suspended %v with suspended_at %v", got.Suspended, got.SuspendedAt)
		}
		return got.FailingSince
	}
	mustPublish(t, s, "a", T0, ev("x", ""))
	failAt(T0)
	if fs := streak(w.ID); fs == nil || !fs.Equal(T0) {
		t.Fatalf("failing_since = %v, want %v", fs, T0)
	}
	failAt(at(30 * time.Minute))
	if fs := streak(w.ID); fs == nil || !fs.Equal(T0) {
		t.Fatalf("failing_since after a second failure = %v, want %v", fs, T0)
	}
	// A success ends the streak.
	now := at(40 * time.Minute)
	for _, d := range claim(t, s, now, 100) {
		complete(t, s, now, success(d, now))
	}
	if fs := streak(w.ID); fs != nil {
		t.Fatalf("failing_since after a success = %v", fs)
	}
	mustPublish(t, s, "a", at(50*time.Minute), ev("x", ""), ev("y", ""))
	// The streak restarts; 59 minutes into it nothing happens yet.
	start := at(50 * time.Minute)
	failAt(start)
	if fs := streak(w.ID); fs == nil || !fs.Equal(start) {
		t.Fatalf("failing_since of the new streak = %v, want %v", fs, start)
	}
	failAt(start.Add(59 * time.Minute))
	if got, err := s.GetWebhook(ctx, "a", w.ID); err != nil || got.Suspended {
		t.Fatalf("suspended too early: %+v, %v", got, err)
	}
	mustPublish(t, s, "a", start.Add(59*time.Minute), ev("z", ""))
	// An hour into the streak a failure suspends the webhook and holds its
	// messages, the retrying ones and the new one.
	now = start.Add(time.Hour)
	ds := claim(t, s, now, 100)
	var first *hookd.Delivery
	for _, d := range ds {
		if d.Webhook.ID == w.ID && first == nil {
			first = d
		}
	}
	complete(t, s, now, failure(first, now, now.Add(time.Minute)))
	got, err := s.GetWebhook(ctx, "a", w.ID)
	must(t, err)
	if !got.Suspended || got.SuspendedAt == nil || !got.SuspendedAt.Equal(now) {
		t.Fatalf("webhook after an hour of failures = %+v", got)
	}
	for _, st := range states(t, s, "a", w.ID) {
		if st != pending && st != successful {
			t.Fatalf("states of the suspended webhook = %v", states(t, s, "a", w.ID))
		}
	}
	// A leased message of the suspended webhook that fails for now is
	// held; one that succeeds is done.
	var rest []hookd.Outcome
	for _, d := range ds {
		if d.Webhook.ID == w.ID && d != first {
			rest = append(rest, failure(d, now, now.Add(time.Minute)))
		}
	}
	complete(t, s, now, rest...)
	for _, st := range states(t, s, "a", w.ID) {
		if st != pending && st != successful {
			t.Fatalf("states after in-flight failures = %v", states(t, s, "a", w.ID))
		}
	}
	if never, err := s.GetWebhook(ctx, "a", never.ID); err != nil || never.Suspended {
		t.Fatalf("suspend_after 0 suspended: %+v, %v", never, err)
	}
	for _, d := range claim(t, s, at(48*time.Hour), 100) {
		if d.Webhook.ID == w.ID {
			t.Fatal("claimed a message of a suspended webhook")
		}
	}
	// Unsuspending clears the streak.
	got, err = s.SetSuspended(ctx, "a", w.ID, false, at(49*time.Hour))
	must(t, err)
	if got.FailingSince != nil {
		t.Fatalf("failing_since after unsuspend = %v", got.FailingSince)
	}
}
