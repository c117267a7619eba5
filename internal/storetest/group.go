package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

const (
	created    = hookd.StateCreated
	pending    = hookd.StatePending
	retrying   = hookd.StateRetrying
	successful = hookd.StateSuccessful
	failed     = hookd.StateFailed
	aborted    = hookd.StateAborted
	resolved   = hookd.StateResolved
)

// publishIDs publishes one event per group at now (one event each) and
// returns the message ids of webhook w, in order.
func publishIDs(t *testing.T, s hookd.Store, w *hookd.Webhook, now time.Time, groups ...string) []string {
	t.Helper()
	var evs []hookd.EventInput
	for _, g := range groups {
		evs = append(evs, ev("x", g))
	}
	var out []string
	for _, r := range mustPublish(t, s, w.TenantID, now, evs...) {
		out = append(out, messageOf(t, s, w.TenantID, w.ID, r.EventID).ID)
	}
	return out
}

func testGroupOrder(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), grouped(false))
	flat := mustWebhook(t, s, "a", url(2)) // not grouped: the group means nothing
	m := publishIDs(t, s, w, T0, "g", "g", "h", "", "g")
	wantStates(t, s, "a", w.ID, created, pending, created, created, pending)
	wantStates(t, s, "a", flat.ID, created, created, created, created, created)
	must(t, s.DeleteWebhook(ctx, "a", flat.ID))

	// Only the heads are claimed.
	ds := wantClaim(t, s, T0, m[0], m[2], m[3])
	complete(t, s, T0, success(ds[m[3]], T0))
	// A later publish queues behind.
	m = append(m, publishIDs(t, s, w, at(time.Second), "g", "h")...)
	wantStates(t, s, "a", w.ID, created, pending, created, successful, pending, pending, pending)
	// A retry keeps the head in place.
	complete(t, s, at(time.Second), failure(ds[m[0]], at(time.Second), at(time.Minute)))
	wantStates(t, s, "a", w.ID, retrying, pending, created, successful, pending, pending, pending)
	// Success releases the next one, and only it.
	complete(t, s, at(2*time.Second), success(ds[m[2]], at(2*time.Second)))
	wantStates(t, s, "a", w.ID, retrying, pending, successful, successful, pending, pending, created)
	wantClaim(t, s, at(2*time.Second), m[6])
	deliverOne(t, s, at(time.Minute), m[0], succeed)
	wantStates(t, s, "a", w.ID, successful, created, successful, successful, pending, pending, created)
	for _, id := range []string{m[1], m[4], m[5]} {
		deliverOne(t, s, at(time.Minute), id, succeed)
	}
	wantStates(t, s, "a", w.ID, successful, successful, successful, successful, successful, successful, created)
	// With the group drained a new message is not held.
	m = append(m, publishIDs(t, s, w, at(2*time.Minute), "g")...)
	wantState(t, s, "a", m[7], created)
}

func testGroupContinueOnFailure(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), grouped(true))
	m := publishIDs(t, s, w, T0, "g", "g", "g")
	deliverOne(t, s, T0, m[0], failHard)
	wantStates(t, s, "a", w.ID, failed, created, pending)
	// A failure does not block messages published later either.
	deliverOne(t, s, T0, m[1], succeed)
	deliverOne(t, s, T0, m[2], failHard)
	publishIDs(t, s, w, at(time.Second), "g")
	wantStates(t, s, "a", w.ID, failed, successful, failed, created)
}

// groupFailureUnblock returns a test in which a failed head blocks its
// group (continue_on_failure false) until unlock, which leaves it in state
// want.
func groupFailureUnblock(unlock func(t *testing.T, s hookd.Store, id string, now time.Time), want hookd.MessageState) func(*testing.T, hookd.Store) {
	return func(t *testing.T, s hookd.Store) {
		mustTenant(t, s, "a")
		w := mustWebhook(t, s, "a", url(1), grouped(false))
		m := publishIDs(t, s, w, T0, "g", "g", "g", "other")
		ds := wantClaim(t, s, T0, m[0], m[3])
		complete(t, s, T0, failHard(ds[m[0]], T0), success(ds[m[3]], T0))
		wantStates(t, s, "a", w.ID, failed, pending, pending, successful)
		// A failed head keeps blocking, also messages published later.
		m = append(m, publishIDs(t, s, w, at(time.Second), "g")...)
		wantStates(t, s, "a", w.ID, failed, pending, pending, successful, pending)
		wantClaim(t, s, at(time.Hour))
		unlock(t, s, m[0], at(time.Minute))
		wantStates(t, s, "a", w.ID, want, created, pending, successful, pending)
		wantClaim(t, s, at(time.Minute), m[1])
	}
}

func unlockResolve(t *testing.T, s hookd.Store, id string, now time.Time) {
	m, err := s.ResolveMessage(ctx, "a", id, now)
	must(t, err)
	if m.State != resolved {
		t.Fatalf("ResolveMessage returned state %s", m.State)
	}
}

func unlockAbort(t *testing.T, s hookd.Store, id string, now time.Time) {
	m, err := s.AbortMessage(ctx, "a", id, now)
	must(t, err)
	if m.State != aborted {
		t.Fatalf("AbortMessage returned state %s", m.State)
	}
}

func unlockRetry(t *testing.T, s hookd.Store, id string, now time.Time) {
	m, err := s.RetryMessage(ctx, "a", id, now)
	must(t, err)
	if m.State != retrying || m.AttemptCount != 1 || m.NextAttemptAt == nil || !m.NextAttemptAt.Equal(now) {
		t.Fatalf("retried failed head = %+v", m)
	}
	// Still blocking while it retries.
	if got := states(t, s, "a", m.WebhookID); got[1] != pending {
		t.Fatalf("states while the head retries: %v", got)
	}
	ds := wantClaim(t, s, now, id)
	if ds[id].Trigger != hookd.TriggerManual {
		t.Fatalf("manual retry claimed with trigger %s", ds[id].Trigger)
	}
	// A failed retry keeps the group blocked; a successful one unblocks.
	complete(t, s, now, failure(ds[id], now, now))
	ds = wantClaim(t, s, now, id)
	if ds[id].Trigger != hookd.TriggerScheduled {
		t.Fatalf("retry after a manual attempt claimed with trigger %s", ds[id].Trigger)
	}
	if got := states(t, s, "a", m.WebhookID); got[1] != pending {
		t.Fatalf("states after a failed retry: %v", got)
	}
	complete(t, s, now, success(ds[id], now))
}
