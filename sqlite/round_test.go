package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlite"
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
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.URL, w.EventTypes = "a", "https://example.com/hook", []string{"*"}
	w.FailureHandling.SuspendAfter = hookd.Duration(time.Hour)
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
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
	time.Sleep(50 * time.Millisecond)
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
