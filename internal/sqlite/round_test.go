package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite"
)

// Complete shares the writer's rounds with Publish. A Complete that
// suspends a webhook holds what a Publish after it in the same round
// writes for that webhook, exactly as if the two had committed one after
// the other; every call of the round is answered.
func TestCompleteSharesPublishRound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db := MustOpenPath(t, path)
	w := mustTenantHook(t, db, "https://example.com/hook",
		func(w *hookd.Webhook) { w.FailureHandling.SuspendAfter = hookd.Duration(time.Hour) })
	ev := hookd.EventInput{Type: "x", Payload: json.RawMessage(`{}`)}
	if _, err := db.Publish(ctx, "a", []hookd.EventInput{ev, ev}, storeT0); err != nil {
		t.Fatal(err)
	}
	ds, err := db.Claim(ctx, storeT0, 2, time.Minute)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Claim = %d, %v", len(ds), err)
	}
	fail := func(d *hookd.Delivery, at time.Time) hookd.Outcome {
		return hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateRetrying, NextAttemptAt: at.Add(time.Hour),
			Attempt: hookd.Attempt{StartedAt: at, StatusCode: 500, Error: hookd.AttemptErrStatus}}
	}
	// The streak starts now; the second failure, two hours later, will
	// suspend the webhook.
	if err := db.Complete(ctx, []hookd.Outcome{fail(ds[0], storeT0)}, storeT0); err != nil {
		t.Fatal(err)
	}

	release := blockWriter(t, path)
	first := queuePublish(t, db, ctx, "a", 0, ev) // taken by the writer, waiting in BEGIN
	later := storeT0.Add(2 * time.Hour)
	completed := make(chan error, 1)
	go func() { completed <- db.Complete(ctx, []hookd.Outcome{fail(ds[1], later)}, later) }()
	deadline := time.Now().Add(5 * time.Second)
	for sqlite.QueuedPublishes(db) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("Complete was not queued")
		}
		time.Sleep(time.Millisecond)
	}
	after := queuePublish(t, db, ctx, "a", 2, ev) // behind the Complete, in the same round
	release()
	if a := <-first; a.err != nil {
		t.Fatal(a.err)
	}
	if err := <-completed; err != nil {
		t.Fatal(err)
	}
	a := <-after
	if a.err != nil {
		t.Fatal(a.err)
	}
	got, err := db.GetWebhook(ctx, "a", w.ID)
	if err != nil || !got.Suspended {
		t.Fatalf("webhook after the round: %+v, %v; want suspended", got, err)
	}
	ms, err := db.ListMessages(ctx, "a", hookd.MessageFilter{EventID: a.res[0].EventID})
	if err != nil || len(ms) != 1 {
		t.Fatalf("messages of the later event: %d, %v", len(ms), err)
	}
	if ms[0].State != hookd.StatePending {
		t.Fatalf("message published after the suspending Complete: %s, want pending (held)", ms[0].State)
	}
}

// A round begun by a Complete runs at NORMAL: a Publish queued behind it
// is set aside for the next round (FULL), and the Complete and Claim
// queued behind the Publish still join the first round.
func TestRoundLevels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db := MustOpenPath(t, path)
	mustTenantHook(t, db, "https://example.com/hook")
	ev := hookd.EventInput{Type: "x", Payload: json.RawMessage(`{}`)}
	if _, err := db.Publish(ctx, "a", []hookd.EventInput{ev, ev}, storeT0); err != nil {
		t.Fatal(err)
	}
	ds, err := db.Claim(ctx, storeT0, 2, time.Minute)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Claim = %d, %v", len(ds), err)
	}
	if _, err := db.Publish(ctx, "a", []hookd.EventInput{ev}, storeT0); err != nil { // for the Claim below
		t.Fatal(err)
	}
	ok := func(d *hookd.Delivery) []hookd.Outcome {
		return []hookd.Outcome{{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateSuccessful,
			Attempt: hookd.Attempt{StartedAt: storeT0, StatusCode: 204, Success: true}}}
	}
	var mu sync.Mutex
	var rounds []string
	sqlite.ObserveRounds(db, func(level, kinds string) {
		mu.Lock()
		rounds = append(rounds, level+" "+kinds)
		mu.Unlock()
	})

	release := blockWriter(t, path)
	errs := make(chan error, 3)
	before := sqlite.ReceivedCalls(db)
	go func() { errs <- db.Complete(ctx, ok(ds[0]), storeT0) }()
	// The writer takes it and waits in BEGIN (a 50 ms sleep here failed
	// on a loaded machine: the Publish below was queued first).
	for deadline := time.Now().Add(10 * time.Second); sqlite.ReceivedCalls(db) == before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the writer never took the first Complete")
		}
	}
	pub := queuePublish(t, db, ctx, "a", 1, ev)
	waitQueued := func(n int) {
		deadline := time.Now().Add(5 * time.Second)
		for sqlite.QueuedPublishes(db) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d calls queued, want %d", sqlite.QueuedPublishes(db), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	go func() { errs <- db.Complete(ctx, ok(ds[1]), storeT0) }()
	waitQueued(2)
	claimed := make(chan []*hookd.Delivery, 1)
	go func() {
		ds, err := db.Claim(ctx, storeT0, 10, time.Minute)
		errs <- err
		claimed <- ds
	}()
	waitQueued(3)
	release()
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if a := <-pub; a.err != nil || len(a.res) != 1 {
		t.Fatalf("Publish = %+v, %v", a.res, a.err)
	}
	if got := <-claimed; len(got) != 1 {
		t.Fatalf("Claim in the round got %d deliveries, want the 1 due", len(got))
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"NORMAL CCL", "FULL P"}
	if len(rounds) != len(want) || rounds[0] != want[0] || rounds[1] != want[1] {
		t.Fatalf("rounds %q, want %q", rounds, want)
	}
}
