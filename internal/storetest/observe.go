package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// observed collects the transitions a store reports, and checks that each
// report comes after its commit: the message already reads as the
// transition left it.
type observed struct {
	t  *testing.T
	s  hookd.Store
	mu sync.Mutex
	ts []hookd.Transition
}

func (o *observed) observe(ts []hookd.Transition) {
	last := map[string]hookd.Transition{} // a message's last transition of the call
	for _, tr := range ts {
		last[tr.MessageID] = tr
	}
	for _, tr := range last {
		m, err := o.s.GetMessage(ctx, tr.TenantID, tr.MessageID)
		if err != nil || m.State != tr.To {
			o.t.Errorf("transition of %s to %s reported before its commit: the store reads %+v, %v", tr.MessageID, tr.To, m, err)
		}
	}
	o.mu.Lock()
	o.ts = append(o.ts, ts...)
	o.mu.Unlock()
}

// take returns the transitions reported since the last take.
func (o *observed) take() []hookd.Transition {
	o.mu.Lock()
	defer o.mu.Unlock()
	ts := o.ts
	o.ts = nil
	return ts
}

// testObserver checks what an ObservableStore reports: one transition per
// outcome applied and per manual action, naming what happened, and
// nothing for a call that failed.
func testObserver(t *testing.T, s hookd.Store) {
	os, ok := s.(hookd.ObservableStore)
	if !ok {
		t.Skip("the store reports no transitions")
	}
	obs := &observed{t: t, s: s}
	os.SetObserver(obs.observe)
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), grouped(false), func(w *hookd.Webhook) {
		w.FailureHandling.SuspendAfter = hookd.Duration(time.Hour)
	})
	m := publishIDs(t, s, w, T0, "g", "g", "", "")
	ds := wantClaim(t, s, T0, m[0], m[2], m[3])

	// A grouped success releases its group; a failure starts the streak;
	// an outcome of a stale lease only counts its attempt (and its
	// failure for the streak).
	stale := failure(ds[m[3]], T0, at(time.Minute))
	stale.Lease++
	complete(t, s, T0, success(ds[m[0]], T0), failure(ds[m[2]], T0, at(time.Minute)), stale)
	ts := obs.take()
	if len(ts) != 3 {
		t.Fatalf("reported %d transitions for 3 outcomes: %+v", len(ts), ts)
	}
	if tr := ts[0]; tr.MessageID != m[0] || tr.To != successful || !tr.GroupReleased || tr.GroupKey != "g" ||
		tr.Attempt == nil || tr.Attempt.Number != 1 || tr.Attempt.ID == "" {
		t.Errorf("grouped success = %+v", tr)
	}
	if tr := ts[1]; tr.MessageID != m[2] || tr.To != retrying || !tr.StreakStarted || tr.FailingSince == nil ||
		!tr.FailingSince.Equal(T0) || tr.Suspended {
		t.Errorf("first failure = %+v", tr)
	}
	if tr := ts[2]; tr.MessageID != m[3] || tr.Moved || tr.To != created || tr.Attempt == nil ||
		tr.Attempt.Number != 1 || tr.StreakStarted || !tr.FailingSince.Equal(T0) {
		t.Errorf("stale outcome = %+v", tr)
	}

	// A refused call reports nothing.
	bad := success(ds[m[3]], T0)
	bad.State = aborted
	wantCode(t, s.Complete(ctx, []hookd.Outcome{bad}, T0), hookd.EINVALID)
	if ts := obs.take(); len(ts) != 0 {
		t.Fatalf("a refused Complete reported %+v", ts)
	}

	// An hour into the streak a failure suspends the webhook, and fails
	// its message for good.
	now := at(time.Hour)
	ds = wantClaim(t, s, now, m[1], m[2], m[3])
	complete(t, s, now, failHard(ds[m[2]], now))
	ts = obs.take()
	if len(ts) != 1 || !ts[0].Suspended || !ts[0].FailedForGood || ts[0].To != failed || !ts[0].At.Equal(now) {
		t.Fatalf("suspending failure = %+v", ts)
	}

	// The manual actions.
	got, err := s.ResolveMessage(ctx, "a", m[2], now)
	must(t, err)
	ts = obs.take()
	if len(ts) != 1 || ts[0].MessageID != m[2] || ts[0].From != failed || ts[0].To != resolved || got.State != resolved {
		t.Fatalf("resolve = %+v", ts)
	}
	_, err = s.AbortMessage(ctx, "a", m[2], now)
	wantCode(t, err, hookd.ECONFLICT)
	if ts := obs.take(); len(ts) != 0 {
		t.Fatalf("a refused abort reported %+v", ts)
	}
	_, err = s.RetryMessage(ctx, "a", m[2], now)
	must(t, err)
	ts = obs.take()
	if len(ts) != 1 || ts[0].To != pending || !ts[0].Held || !ts[0].Manual {
		t.Fatalf("retry while suspended = %+v", ts)
	}
	_, err = s.AbortMessage(ctx, "a", m[1], now)
	must(t, err)
	ts = obs.take()
	if len(ts) != 1 || ts[0].To != aborted || !ts[0].GroupReleased {
		t.Fatalf("abort of a grouped message = %+v", ts)
	}
	_, err = s.SetSuspended(ctx, "a", w.ID, false, now)
	must(t, err)
	ds = wantClaim(t, s, now, m[2], m[3])
	complete(t, s, now, failHard(ds[m[2]], now), success(ds[m[3]], now))
	obs.take()
	n, err := s.RecoverMessages(ctx, "a", w.ID, T0, time.Time{}, now)
	must(t, err)
	if ts := obs.take(); n != 1 || len(ts) != 1 || ts[0].MessageID != m[2] || ts[0].To != retrying {
		t.Fatalf("recover of %d = %+v", n, ts)
	}

	// Without an observer nothing is reported.
	os.SetObserver(nil)
	ds = wantClaim(t, s, now, m[2])
	complete(t, s, now, success(ds[m[2]], now))
	if ts := obs.take(); len(ts) != 0 {
		t.Fatalf("reported after the observer was removed: %+v", ts)
	}
}
