package sqlite_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/tmpfs"
)

// clock is a settable clock for DB.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// fullDiskStore opens a store on a tmpfs of its own with a tenant acme, a
// webhook for every event, and events published, some of them delivered.
// It returns the store, its directory, the ids of the events, and the
// deliveries claimed and not yet completed.
func fullDiskStore(t *testing.T, clk *clock) (*sqlite.DB, string, []string, []*hookd.Delivery) {
	t.Helper()
	ctx := context.Background()
	dir := tmpfs.Mount(t, 16<<20)
	db := MustOpenPath(t, filepath.Join(dir, "hookd.db"))
	db.Now = clk.Now
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.Name, w.URL, w.EventTypes = "acme", "all", "https://example.com/hook", []string{"*"}
	w.Secrets = []hookd.Secret{{Value: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", CreatedAt: clk.Now()}}
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 300 {
		res, err := db.Publish(ctx, "acme", []hookd.EventInput{bigEvent()}, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res[0].EventID)
	}
	ds, err := db.Claim(ctx, clk.Now(), 200, time.Minute)
	if err != nil || len(ds) != 200 {
		t.Fatalf("claim: %d, %v", len(ds), err)
	}
	if err := db.Complete(ctx, successes(ds[:100], clk.Now()), clk.Now()); err != nil {
		t.Fatal(err)
	}
	return db, dir, ids, ds[100:]
}

func bigEvent() hookd.EventInput {
	return hookd.EventInput{Type: "order.created", Payload: json.RawMessage(`"` + strings.Repeat("x", 2000) + `"`)}
}

func successes(ds []*hookd.Delivery, now time.Time) []hookd.Outcome {
	outs := make([]hookd.Outcome, len(ds))
	for i, d := range ds {
		outs[i] = hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateSuccessful,
			Attempt: hookd.Attempt{Trigger: d.Trigger, StartedAt: now, StatusCode: 200, Success: true}}
	}
	return outs
}

// wantUnavailable fails unless err is EUNAVAILABLE saying the disk is full.
func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if got := hookd.ErrorCode(err); got != hookd.EUNAVAILABLE || !strings.Contains(hookd.ErrorMessage(err), "disk is full") {
		t.Fatalf("%s: %v (code %q), want unavailable: the disk is full", what, err, got)
	}
}

// On a full disk a write fails with EUNAVAILABLE, stores nothing and
// marks writes failing (Ping); what was stored before stays readable; the
// delivery engine's writes fail the same way, never as internal errors;
// and once there is room again, writes succeed and Ping is ready again
// once none failed for a while.
func TestFullDisk(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Now()}
	db, dir, ids, open := fullDiskStore(t, clk)
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping before the disk is full: %v", err)
	}
	filler := tmpfs.Fill(t, dir)

	// Writes go on in the room the WAL has until it is used up.
	var err error
	for i := 0; i < 5000 && err == nil; i++ {
		var res []hookd.PublishResult
		if res, err = db.Publish(ctx, "acme", []hookd.EventInput{bigEvent()}, clk.Now()); err == nil {
			ids = append(ids, res[0].EventID)
		}
	}
	wantUnavailable(t, "publish on a full disk", err)
	if !strings.Contains(hookd.ErrorMessage(err), "nothing was stored") {
		t.Errorf("message %q does not say that nothing was stored", hookd.ErrorMessage(err))
	}
	wantUnavailable(t, "ping on a full disk", db.Ping(ctx))
	for _, id := range ids {
		if _, err := db.GetEvent(ctx, "acme", id); err != nil {
			t.Fatalf("event %s accepted before the disk was full: %v", id, err)
		}
	}
	// The engine's writes: EUNAVAILABLE or, in what room is left, done.
	if err := db.Complete(ctx, successes(open[:50], clk.Now()), clk.Now()); err != nil {
		wantUnavailable(t, "complete on a full disk", err)
	}
	if _, err := db.Claim(ctx, clk.Now().Add(time.Hour), 10, time.Minute); err != nil {
		wantUnavailable(t, "claim on a full disk", err)
	}
	// Sweeping would free room in the database, but deleting needs room
	// in the WAL first: on a disk this full it fails as any write does.
	if _, err := db.Sweep(ctx, clk.Now().Add(time.Hour), 500, clk.Now()); err != nil {
		wantUnavailable(t, "sweep on a full disk", err)
	}
	wantUnavailable(t, "ping on a full disk", db.Ping(ctx))

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	res, err := db.Publish(ctx, "acme", []hookd.EventInput{bigEvent()}, clk.Now())
	if err != nil {
		t.Fatalf("publish once there is room: %v", err)
	}
	ids = append(ids, res[0].EventID)
	// Ready again once no write failed for a while: a small write may
	// succeed where a larger one still fails.
	wantUnavailable(t, "ping just after the last failed write", db.Ping(ctx))
	clk.Add(10 * time.Second)
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping once writes succeed: %v", err)
	}
	if err := db.Complete(ctx, successes(open, clk.Now()), clk.Now()); err != nil {
		t.Fatalf("complete once there is room: %v", err)
	}
	for _, id := range ids {
		if _, err := db.GetEvent(ctx, "acme", id); err != nil {
			t.Fatalf("event %s: %v", id, err)
		}
	}
}

// A store closed while there was room opens again on a full disk (its WAL
// and shared-memory index stay in place: creating them would need room),
// serves reads, and reports at its first Ping that writes fail.
func TestOpenOnFullDisk(t *testing.T) {
	ctx := context.Background()
	dir := tmpfs.Mount(t, 16<<20)
	path := filepath.Join(dir, "hookd.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path + "-wal", path + "-shm"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after Close: %v", err)
		}
	}
	tmpfs.Fill(t, dir)
	db = MustOpenPath(t, path)
	if got, err := db.GetTenant(ctx, "acme"); err != nil || got.Name != "Acme" {
		t.Fatalf("tenant on a full disk = %+v, %v", got, err)
	}
	wantUnavailable(t, "first ping on a full disk", db.Ping(ctx))
	wantUnavailable(t, "write on a full disk", db.CreateTenant(ctx, &hookd.Tenant{ID: "globex"}))
}
