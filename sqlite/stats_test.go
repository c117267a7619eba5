package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlstore"
)

// Delivery statistics wait in memory (sqlstore/statsbuffer.go): a read of
// the same store counts them at once, they are written once they waited
// StatsFlushInterval, and Close writes what still waits.
func TestStatsWaitThenWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db := MustOpenPath(t, path)
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
	deliver(t0.Add(sqlstore.StatsFlushInterval/2), 2)
	if got, written := health(), stored(); got != 5 || written != 0 {
		t.Fatalf("within the interval: read %d, written %d; want 5, 0", got, written)
	}
	deliver(t0.Add(sqlstore.StatsFlushInterval), 1) // the first waited long enough: all are written
	if got, written := health(), stored(); got != 6 || written != 6 {
		t.Fatalf("after the interval: read %d, written %d; want 6, 6 (none counted twice)", got, written)
	}
	deliver(t0.Add(2*sqlstore.StatsFlushInterval), 4)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if written := stored(); written != 10 {
		t.Fatalf("after Close: written %d, want 10", written)
	}
	db = MustOpenPath(t, path)
	if got := health(); got != 10 {
		t.Fatalf("after reopening: read %d, want 10", got)
	}
}
