package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlstore"
)

// Delivery statistics wait in memory (sqlstore/statsbuffer.go): a read of
// the same store counts them at once and never twice, Close writes what
// still waits, and a timer writes them a wait after they came in.
func TestStatsWaitThenWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	// A wait longer than any test: nothing is written but by Close.
	db := MustOpenPath(t, path, sqlstore.WithStatsFlush(time.Hour))
	raw := rawDB(t, path)
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.URL, w.EventTypes = "a", "https://example.com/hook", []string{"*"}
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Hour)
	deliver := func(now time.Time, n int) {
		t.Helper()
		evs := make([]hookd.EventInput, n)
		for i := range evs {
			evs[i] = hookd.EventInput{Type: "x", Payload: []byte(`{}`)}
		}
		if _, err := db.Publish(ctx, "a", evs, now); err != nil {
			t.Fatal(err)
		}
		ds, err := db.Claim(ctx, now, n, time.Minute)
		if err != nil || len(ds) != n {
			t.Fatalf("claimed %d, %v", len(ds), err)
		}
		var outs []hookd.Outcome
		for _, d := range ds {
			outs = append(outs, hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateSuccessful,
				Attempt: hookd.Attempt{StartedAt: now, StatusCode: 200, Success: true, DurationMS: 10}})
		}
		if err := db.Complete(ctx, outs, now); err != nil {
			t.Fatal(err)
		}
	}
	stored := func() int64 {
		t.Helper()
		var n int64
		if err := raw.QueryRow("SELECT coalesce(sum(attempts), 0) FROM delivery_stats").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	health := func() int64 {
		t.Helper()
		h, err := db.WebhookHealth(ctx, "a", nil, t0, t0.Add(time.Hour), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if h[w.ID] == nil {
			return 0
		}
		return h[w.ID].Total.Attempts
	}

	deliver(t0, 3)
	if got, written := health(), stored(); got != 3 || written != 0 {
		t.Fatalf("after one round: read %d, written %d; want 3 read, none written yet", got, written)
	}
	deliver(t0.Add(time.Minute), 2)
	if got, written := health(), stored(); got != 5 || written != 0 {
		t.Fatalf("after two rounds: read %d, written %d; want 5, 0", got, written)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if written := stored(); written != 5 {
		t.Fatalf("after Close: written %d, want 5", written)
	}

	// A short wait: the timer writes them; reads count each once, before,
	// during and after.
	db = MustOpenPath(t, path, sqlstore.WithStatsFlush(time.Millisecond))
	if got := health(); got != 5 {
		t.Fatalf("after reopening: read %d, want 5", got)
	}
	for round, r := range []struct {
		n    int
		want int64
	}{{4, 9}, {1, 10}} {
		want := r.want
		deliver(t0.Add(time.Duration(2+round)*time.Minute), r.n)
		deadline := time.Now().Add(time.Minute)
		for {
			got, written := health(), stored()
			if got != want {
				t.Fatalf("round %d: read %d (written %d), want %d", round, got, written, want)
			}
			if written == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: written %d a minute later, want %d", round, written, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
}
