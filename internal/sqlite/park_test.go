package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/storetest"
)

// With a dispatcher registered that takes nothing at once (no room), Publish
// parks the claimable messages, and the whole store suite still holds:
// Claim reads parked messages instead of writing them, and every rule of
// leases, holds, groups and deferrals stays as it was.
func TestStoreParking(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) hookd.Store {
		db := MustOpenDB(t)
		db.SetHandoff(storetest.NewFakeHandoff(0, time.Minute))
		return db
	})
}

// parkingDB is a database with tenant a, one webhook for every event, and a
// registered handoff with no room: what Publish writes is parked. It
// records the kinds of the writer's rounds.
func parkingDB(t *testing.T) (*sqlite.DB, *hookd.Webhook, func() []string) {
	t.Helper()
	db := MustOpenDB(t)
	var mu sync.Mutex
	var rounds []string
	sqlite.ObserveRounds(db, func(level, kinds string) {
		mu.Lock()
		rounds = append(rounds, kinds)
		mu.Unlock()
	})
	w := mustTenantHook(t, db, "https://example.com/hook")
	db.SetHandoff(storetest.NewFakeHandoff(0, time.Minute))
	return db, w, func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := rounds
		rounds = nil
		return out
	}
}

func publishN(t *testing.T, db *sqlite.DB, tenant string, n int, at time.Time) []string {
	t.Helper()
	evs := make([]hookd.EventInput, n)
	for i := range evs {
		evs[i] = hookd.EventInput{Type: "x", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
	}
	res, err := db.Publish(context.Background(), tenant, evs, at)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i, r := range res {
		ids[i] = r.EventID
	}
	return ids
}

func claimEvents(t *testing.T, db *sqlite.DB, at time.Time, limit int) ([]string, []*hookd.Delivery) {
	t.Helper()
	ds, err := db.Claim(context.Background(), at, limit, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.Event.ID
	}
	return ids, ds
}

// Parked messages come out of Claim in publish order, each once, and
// without a write transaction; their outcomes apply as for any lease.
func TestParkedClaimedWithoutWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, rounds := parkingDB(t)
	evs := publishN(t, db, "a", 5, storeT0)
	if got := rounds(); !slices.Equal(got, []string{"P"}) {
		t.Fatalf("rounds of the publish = %v", got)
	}
	if next, ok, err := db.NextDue(ctx); err != nil || !ok || !next.Equal(storeT0) {
		t.Fatalf("NextDue with parked messages = %v, %v, %v; want their publish time", next, ok, err)
	}
	first, ds1 := claimEvents(t, db, storeT0, 3)
	second, ds2 := claimEvents(t, db, storeT0, 3)
	third, _ := claimEvents(t, db, storeT0, 3)
	if !slices.Equal(first, evs[:3]) || !slices.Equal(second, evs[3:]) || len(third) != 0 {
		t.Fatalf("claims = %v, %v, %v; want %v, %v, none", first, second, third, evs[:3], evs[3:])
	}
	if got := rounds(); len(got) != 0 {
		t.Fatalf("Claim of parked messages ran writer rounds %v", got)
	}
	var outs []hookd.Outcome
	for _, d := range append(ds1, ds2...) {
		outs = append(outs, hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateSuccessful,
			Attempt: hookd.Attempt{StartedAt: storeT0, StatusCode: 204, Success: true}})
	}
	if err := db.Complete(ctx, outs, storeT0); err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if m, err := db.GetMessage(ctx, "a", o.MessageID); err != nil || m.State != hookd.StateSuccessful {
			t.Fatalf("message after its outcome = %+v, %v", m, err)
		}
	}
	if _, ok, err := db.NextDue(ctx); err != nil || ok {
		t.Fatalf("NextDue after all completed = %v, %v", ok, err)
	}
}

// While parked messages wait, a message due by its time (a retry) still
// gets a share of every Claim.
func TestParkedDoNotStarveRetries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, _ := parkingDB(t)
	retry := publishN(t, db, "a", 1, storeT0)
	_, ds := claimEvents(t, db, storeT0, 1)
	o := hookd.Outcome{MessageID: ds[0].Message.ID, Lease: ds[0].Lease, State: hookd.StateRetrying,
		NextAttemptAt: storeT0.Add(time.Second), Attempt: hookd.Attempt{StartedAt: storeT0, StatusCode: 500}}
	if err := db.Complete(ctx, []hookd.Outcome{o}, storeT0); err != nil {
		t.Fatal(err)
	}
	fresh := publishN(t, db, "a", 10, storeT0.Add(time.Second))
	got, _ := claimEvents(t, db, storeT0.Add(2*time.Second), 4)
	if want := append(fresh[:3:3], retry[0]); !slices.Equal(got, want) {
		t.Fatalf("claimed %v, want 3 parked then the retry: %v", got, want)
	}
}

// A parked message whose webhook is disabled is not read; once enabled
// again it is released and claimed (the usual way), once.
func TestParkedHeld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, w, _ := parkingDB(t)
	evs := publishN(t, db, "a", 2, storeT0)
	w.Enabled = false
	if err := db.UpdateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	if got, _ := claimEvents(t, db, storeT0, 10); len(got) != 0 {
		t.Fatalf("claimed %v of a disabled webhook", got)
	}
	w.Enabled = true
	if err := db.UpdateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	at := storeT0.Add(time.Second)
	if got, _ := claimEvents(t, db, at, 10); !slices.Equal(got, evs) {
		t.Fatalf("claimed %v after enabling, want %v", got, evs)
	}
	if got, _ := claimEvents(t, db, at, 10); len(got) != 0 {
		t.Fatalf("claimed %v again", got)
	}
}

// When the newest messages are deleted (their tenant with them), messages
// published afterwards are still read: seqs never go back.
func TestParkedAfterNewestDeleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, _ := parkingDB(t)
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "b"}); err != nil {
		t.Fatal(err)
	}
	mustHook(t, db, "https://example.com/b", func(w *hookd.Webhook) { w.TenantID = "b" })
	publishN(t, db, "a", 1, storeT0)
	publishN(t, db, "b", 3, storeT0)
	if got, _ := claimEvents(t, db, storeT0, 10); len(got) != 4 {
		t.Fatalf("claimed %d, want 4", len(got))
	}
	if err := db.DeleteTenant(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	evs := publishN(t, db, "a", 2, storeT0)
	if got, _ := claimEvents(t, db, storeT0, 10); !slices.Equal(got, evs) {
		t.Fatalf("claimed %v after the newest rows were deleted, want %v", got, evs)
	}
}

// Parked messages a crashed process left behind are due again on the next
// start (ReleaseLeases), and claimed by the new process.
func TestParkedAfterRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := t.TempDir() + "/hookd.db"
	db := MustOpenPath(t, path)
	mustTenantHook(t, db, "https://example.com/hook")
	db.SetHandoff(storetest.NewFakeHandoff(0, time.Minute))
	evs := publishN(t, db, "a", 3, storeT0)
	claimEvents(t, db, storeT0, 1) // one handed out when the process died
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = MustOpenPath(t, path)
	db.SetHandoff(storetest.NewFakeHandoff(0, time.Minute))
	if got, _ := claimEvents(t, db, storeT0, 10); len(got) != 0 {
		t.Fatalf("claimed %v before ReleaseLeases: another process's parked messages", got)
	}
	at := storeT0.Add(time.Second)
	if err := db.ReleaseLeases(ctx, at); err != nil {
		t.Fatal(err)
	}
	if got, _ := claimEvents(t, db, at, 10); !slices.Equal(got, evs) {
		t.Fatalf("claimed %v after the restart, want %v", got, evs)
	}
}
