package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite"
)

// blockWriter takes the database's write lock from another connection, so
// that the store's writer waits in BEGIN and Publish calls queue up behind
// it. The returned func releases the lock.
func blockWriter(t *testing.T, path string) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := rawDB(t, path).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
}

type publishAnswer struct {
	res []hookd.PublishResult
	err error
}

// queuePublish starts a Publish and waits until it is queued as the
// writer's want-th waiting call, or, with want 0, until the writer took it
// (the writer must be free: nothing else queued).
func queuePublish(t *testing.T, db *sqlite.DB, pctx context.Context, tenantID string, want int, evs ...hookd.EventInput) <-chan publishAnswer {
	t.Helper()
	before := sqlite.ReceivedCalls(db)
	ch := make(chan publishAnswer, 1)
	go func() {
		res, err := db.Publish(pctx, tenantID, evs, storeT0)
		ch <- publishAnswer{res, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	done := func() bool {
		if want == 0 {
			return sqlite.ReceivedCalls(db) > before
		}
		return sqlite.QueuedPublishes(db) >= want
	}
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, %d taken; want %d queued", sqlite.QueuedPublishes(db), sqlite.ReceivedCalls(db)-before, want)
		}
		time.Sleep(time.Millisecond)
	}
	return ch
}

var storeT0 = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

func keyed(typ, key string) hookd.EventInput {
	return hookd.EventInput{Type: typ, Payload: json.RawMessage(`{}`), IdempotencyKey: key}
}

// Calls committed together behave as if committed one after the other: a
// call sees an earlier call's idempotency key, and a failing call fails
// alone.
func TestPublishGroupCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db := MustOpenPath(t, path)
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.URL, w.EventTypes, w.Grouped = "a", "https://example.com/hook", []string{"*"}, true
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	release := blockWriter(t, path)
	// The writer takes the first call and waits for the lock in BEGIN;
	// the others queue up behind it and are committed together.
	first := queuePublish(t, db, ctx, "a", 0, hookd.EventInput{Type: "x", Payload: json.RawMessage(`1`)})
	grp := hookd.EventInput{Type: "x", Payload: json.RawMessage(`2`), Group: "g"}
	calls := []<-chan publishAnswer{
		queuePublish(t, db, ctx, "a", 1, keyed("x", "k")),                   // 0: new key
		queuePublish(t, db, ctx, "a", 2, keyed("x", "k")),                   // 1: its duplicate
		queuePublish(t, db, ctx, "a", 3, keyed("y", "k")),                   // 2: conflict
		queuePublish(t, db, ctx, "nope", 4, keyed("x", "k2")),               // 3: no tenant
		queuePublish(t, db, ctx, "a", 5, keyed("x", "k2"), keyed("y", "k")), // 4: all or nothing
		queuePublish(t, db, ctx, "a", 6, grp),                               // 5: head of group g
		queuePublish(t, db, ctx, "a", 7, grp, keyed("x", "k2")),             // 6: behind it; k2 is free
	}
	release()
	if a := <-first; a.err != nil {
		t.Fatal(a.err)
	}
	got := make([]publishAnswer, len(calls))
	for i, ch := range calls {
		got[i] = <-ch
	}
	if a := got[0]; a.err != nil || len(a.res) != 1 || a.res[0].Duplicate || a.res[0].Messages != 1 {
		t.Fatalf("call 0 = %+v, %v", a.res, a.err)
	}
	evID := got[0].res[0].EventID
	if a := got[1]; a.err != nil || a.res[0] != (hookd.PublishResult{EventID: evID, Messages: 1, Duplicate: true}) {
		t.Fatalf("call 1 = %+v, %v; want the duplicate of %s", a.res, a.err, evID)
	}
	var e *hookd.Error
	if a := got[2]; !errors.As(a.err, &e) || e.Code != hookd.ECONFLICT || e.ExistingID != evID {
		t.Fatalf("call 2 = %+v, %v; want a conflict with %s", a.res, a.err, evID)
	}
	if a := got[3]; hookd.ErrorCode(a.err) != hookd.ENOTFOUND {
		t.Fatalf("call 3 = %+v, %v; want not found", a.res, a.err)
	}
	if a := got[4]; hookd.ErrorCode(a.err) != hookd.ECONFLICT {
		t.Fatalf("call 4 = %+v, %v; want a conflict", a.res, a.err)
	}
	if a := got[5]; a.err != nil || len(a.res) != 1 || a.res[0].Messages != 1 {
		t.Fatalf("call 5 = %+v, %v", a.res, a.err)
	}
	if a := got[6]; a.err != nil || len(a.res) != 2 || a.res[1].Duplicate {
		t.Fatalf("call 6 = %+v, %v; want two new events", a.res, a.err)
	}
	// Stored: the first call's event, calls 0, 5 and 6; call 4 left nothing.
	evs, err := db.ListEvents(ctx, "a", hookd.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 5 {
		t.Fatalf("%d events stored, want 5", len(evs))
	}
	ms, err := db.ListMessages(ctx, "a", hookd.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var st []hookd.MessageState
	for _, m := range ms {
		st = append(st, m.State)
	}
	want := []hookd.MessageState{hookd.StateCreated, hookd.StateCreated, hookd.StateCreated, hookd.StatePending, hookd.StateCreated}
	if len(st) != len(want) {
		t.Fatalf("message states %v, want %v", st, want)
	}
	for i := range want {
		if st[i] != want[i] {
			t.Fatalf("message states %v, want %v (the group's second message held)", st, want)
		}
	}
}

// A caller that gives up before the writer took its call gets ctx.Err()
// and nothing of it is stored; Close commits what is queued.
func TestPublishCancelAndClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	release := blockWriter(t, path)
	first := queuePublish(t, db, ctx, "a", 0, keyed("x", "first"))
	cctx, cancel := context.WithCancel(ctx)
	gone := queuePublish(t, db, cctx, "a", 1, keyed("x", "gone"))
	kept := queuePublish(t, db, ctx, "a", 2, keyed("x", "kept"))
	cancel()
	if a := <-gone; !errors.Is(a.err, context.Canceled) {
		t.Fatalf("cancelled call = %+v, %v", a.res, a.err)
	}
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	time.Sleep(20 * time.Millisecond)
	release()
	for _, ch := range []<-chan publishAnswer{first, kept} {
		if a := <-ch; a.err != nil {
			t.Fatalf("queued call at Close: %v", a.err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := db.Publish(ctx, "a", []hookd.EventInput{keyed("x", "late")}, storeT0); err == nil {
		t.Fatal("Publish after Close succeeded")
	}
	db = MustOpenPath(t, path)
	evs, err := db.ListEvents(ctx, "a", hookd.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range evs {
		keys = append(keys, e.IdempotencyKey)
	}
	if len(keys) != 2 || keys[0] != "first" || keys[1] != "kept" {
		t.Fatalf("stored events with keys %v, want first and kept", keys)
	}
}

// Many concurrent callers, committed in rounds of several calls whose rows
// are written together: every group still has exactly one message that
// may be sent (the first published) and the rest wait, and callers racing
// with one idempotency key all get the one event.
func TestPublishConcurrentRounds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.URL, w.EventTypes, w.Grouped = "a", "https://example.com/hook", []string{"*"}, true
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	const clients, each = 16, 20
	var mu sync.Mutex
	keyed := map[string]bool{} // event ids answered for the shared key
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				ev := hookd.EventInput{Type: "x", Payload: json.RawMessage(`{}`), Group: fmt.Sprintf("g%d", (c+i)%5)}
				if i%4 == 0 {
					ev.IdempotencyKey = "shared"
					ev.Group = ""
				}
				res, err := db.Publish(ctx, "a", []hookd.EventInput{ev}, storeT0)
				if err != nil {
					t.Error(err)
					return
				}
				if ev.IdempotencyKey != "" {
					mu.Lock()
					keyed[res[0].EventID] = true
					mu.Unlock()
					if res[0].Messages != 1 {
						t.Errorf("shared key: %+v, want 1 message", res[0])
					}
				}
			}
		})
	}
	wg.Wait()
	if len(keyed) != 1 {
		t.Fatalf("the shared idempotency key gave %d events, want 1", len(keyed))
	}
	created := map[string]int{}
	total := 0
	for after := ""; ; {
		ms, err := db.ListMessages(ctx, "a", hookd.MessageFilter{Page: hookd.Page{After: after, Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			total++
			if m.State == hookd.StateCreated {
				created[m.Group]++
			}
		}
		after = ms[len(ms)-1].ID
	}
	if want := clients*each - clients*each/4 + 1; total != want {
		t.Fatalf("%d messages, want %d", total, want)
	}
	for g, n := range created {
		if n != 1 {
			t.Errorf("group %q has %d sendable messages, want 1", g, n)
		}
	}
	if len(created) != 6 { // g0..g4 and the ungrouped keyed event
		t.Errorf("sendable messages by group: %v", created)
	}
}
