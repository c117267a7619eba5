package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// testCompleteBatch checks that one Complete of many outcomes ends where
// completing them one by one, in order, would: a store may apply a batch
// set-wise, but not differently.
func testCompleteBatch(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), types("x"), func(w *hookd.Webhook) { w.FailureHandling.SuspendAfter = hookd.Duration(time.Hour) })
	g := mustWebhook(t, s, "a", url(2), grouped(false), types("g"))
	other := mustWebhook(t, s, "a", url(3), types("o"))
	publish := func(w *hookd.Webhook, now time.Time, typ string, groups ...string) []string {
		t.Helper()
		var out []string
		for _, grp := range groups {
			r := mustPublish(t, s, "a", now, ev(typ, grp))
			out = append(out, messageOf(t, s, "a", w.ID, r[0].EventID).ID)
		}
		return out
	}

	// w has failed for an hour at the time of the batch.
	m := publish(w, T0, "x", "")
	deliverOne(t, s, T0, m[0], func(d *hookd.Delivery, now time.Time) hookd.Outcome {
		return failure(d, now, at(2*time.Hour))
	})
	now := at(time.Hour)
	m = append(m, publish(w, now, "x", "", "", "")...)
	gm := publish(g, now, "g", "g1", "g1", "g2", "g2")
	o := publish(other, now, "o", "")[0]

	ds := wantClaim(t, s, now, m[1], m[2], m[3], gm[0], gm[2], o)
	stale := success(ds[m[3]], now)
	stale.Lease++
	batch := []hookd.Outcome{
		failure(ds[m[2]], now, now.Add(time.Hour)), // an hour into the streak: suspends w
		success(ds[m[1]], now),                     // after the suspension, done all the same
		stale,                                      // a stale lease: counted, moves nothing
		failure(ds[m[3]], now, now.Add(time.Hour)), // after the suspension: held
		success(ds[gm[0]], now),                    // releases the next of g1
		failure(ds[gm[2]], now, time.Time{}),       // a blocking failure of g2
		success(ds[o], now),
	}
	for i := range batch {
		batch[i].Attempt.ID = hookd.NewID(hookd.PrefixAttempt) // as the engine does
	}
	batch = append(batch, batch[len(batch)-1]) // the same attempt twice: recorded once
	complete(t, s, now, batch...)

	got, err := s.GetWebhook(ctx, "a", w.ID)
	must(t, err)
	if !got.Suspended || got.SuspendedAt == nil || !got.SuspendedAt.Equal(now) {
		t.Fatalf("webhook after the batch: suspended %v at %v, want suspended at %v", got.Suspended, got.SuspendedAt, now)
	}
	// The success ended the first streak, the last failure began another.
	if got.FailingSince == nil || !got.FailingSince.Equal(now) {
		t.Fatalf("failing_since = %v, want %v", got.FailingSince, now)
	}
	wantStates(t, s, "a", w.ID, pending, successful, pending, pending)
	wantStates(t, s, "a", g.ID, successful, created, failed, pending)
	wantState(t, s, "a", o, successful)
	for id, want := range map[string]int{m[1]: 1, m[2]: 1, m[3]: 2, gm[0]: 1, gm[2]: 1, o: 1} {
		msg, err := s.GetMessage(ctx, "a", id)
		must(t, err)
		atts, err := s.ListAttempts(ctx, "a", id, hookd.Page{})
		must(t, err)
		if msg.AttemptCount != want || len(atts) != want {
			t.Fatalf("message %s: attempt_count %d, %d attempts; want %d", id, msg.AttemptCount, len(atts), want)
		}
		for i, a := range atts {
			if a.Number != i+1 {
				t.Fatalf("message %s: attempt %d is number %d", id, i, a.Number)
			}
		}
	}
	if msg := wantState(t, s, "a", m[2], pending); msg.NextAttemptAt == nil || !msg.NextAttemptAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("held retry next_attempt_at = %v, want %v", msg.NextAttemptAt, now.Add(time.Hour))
	}

	// The same batch again (an answer lost, the call retried) changes nothing.
	complete(t, s, now.Add(time.Second), batch...)
	wantStates(t, s, "a", w.ID, pending, successful, pending, pending)
	wantStates(t, s, "a", g.ID, successful, created, failed, pending)
	if msg := wantState(t, s, "a", m[3], pending); msg.AttemptCount != 2 {
		t.Fatalf("attempt_count after a repeated batch = %d, want 2", msg.AttemptCount)
	}

	// Unsuspended, w's held messages resume where they were.
	_, err = s.SetSuspended(ctx, "a", w.ID, false, at(3*time.Hour))
	must(t, err)
	wantStates(t, s, "a", w.ID, retrying, successful, retrying, retrying)
}
