package postgres_test

// Tests of which write waits for which lock (see the package comment):
// each holds a lock on a connection of its own and checks that the writes
// that must wait for it do, and that the others go ahead while it is held.
// nodes_test.go checks what the locks are for, with nodes at work.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// holdLock takes a session-level advisory lock of the database of dbURL
// with the statement lockSQL and its arguments on a connection of its
// own, and returns the function that lets it go (unlockSQL).
func holdLock(t *testing.T, dbURL, lockSQL, unlockSQL string, args ...any) (release func()) {
	t.Helper()
	raw, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := raw.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), lockSQL, args...); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), unlockSQL, args...); err != nil {
				t.Error(err)
			}
			conn.Close()
			raw.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// mustWait runs write while a lock is held and checks that it does not
// return until release lets the lock go, and then succeeds.
func mustWait(t *testing.T, name string, release func(), write func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- write() }()
	select {
	case err := <-done:
		release()
		t.Fatalf("%s returned (%v) while the lock was held", name, err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return once the lock was free", name)
	}
}

// mustNotWait checks that write returns, successfully, while a lock is
// held (the caller releases it afterwards).
func mustNotWait(t *testing.T, name string, write func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- write() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s waited for a lock it must not take", name)
	}
}

// openLockDB opens a store on a database of its own (see
// pgtest.FreshDatabaseURL: the locks a test holds are the database's, and
// a write of another test waiting for one would make the test's writes
// queue behind it), closed when t ends, and returns it with the
// database's URL.
func openLockDB(t *testing.T) (*postgres.DB, string) {
	t.Helper()
	u := pgtest.FreshDatabaseURL(t)
	db, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, u
}

// lockTenant creates a tenant and a grouped webhook in it.
func lockTenant(t *testing.T, db *postgres.DB) (tenant string, w *hookd.Webhook) {
	t.Helper()
	ctx := context.Background()
	tenant = "locks"
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: tenant, Name: "locks"}); err != nil {
		t.Fatal(err)
	}
	w = hookd.NewWebhookDefaults()
	w.TenantID, w.Name, w.URL, w.EventTypes, w.Grouped = tenant, "w", "https://example.com/", []string{"*"}, true
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	return tenant, w
}

func publishIn(db *postgres.DB, tenant, group, key string) error {
	_, err := db.Publish(context.Background(), tenant, []hookd.EventInput{{Type: "t", Group: group, IdempotencyKey: key,
		Payload: json.RawMessage(`1`)}}, time.Now())
	return err
}

// claim claims every due message and returns them by group, checking
// that they are those of groups.
func claim(t *testing.T, db *postgres.DB, groups ...string) map[string]*hookd.Delivery {
	t.Helper()
	ds, err := db.Claim(context.Background(), time.Now().Add(time.Second), 100, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*hookd.Delivery{}
	for _, d := range ds {
		out[d.Message.Group] = d
	}
	if len(out) != len(groups) || len(ds) != len(groups) {
		t.Fatalf("claimed %d messages of groups %v, want one of each of %v", len(ds), out, groups)
	}
	for _, g := range groups {
		if out[g] == nil {
			t.Fatalf("no message of group %q claimed", g)
		}
	}
	return out
}

func outcome(d *hookd.Delivery, state hookd.MessageState) []hookd.Outcome {
	return []hookd.Outcome{{MessageID: d.Message.ID, Lease: d.Lease, State: state,
		Attempt: hookd.Attempt{Success: state == hookd.StateSuccessful, StatusCode: 200}}}
}

// The delivery engine's writes hold the write lock shared: they go ahead
// while another transaction holds it shared, and wait while one holds it
// exclusively, as every other write does the other way round. Claim takes
// it not at all.
func TestEngineSharesTheWriteLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, u := openLockDB(t)
	tenant, w := lockTenant(t, db)
	if err := publishIn(db, tenant, "g", ""); err != nil {
		t.Fatal(err)
	}
	d := claim(t, db, "g")["g"]

	release := holdLock(t, u, "SELECT pg_advisory_lock_shared($1)", "SELECT pg_advisory_unlock_shared($1)", int64(postgres.WriteLock))
	mustNotWait(t, "Publish", func() error { return publishIn(db, tenant, "h", "") })
	mustNotWait(t, "DeferMessage", func() error { return db.DeferMessage(ctx, d.Message.ID, d.Lease, time.Now()) })
	ds := claim(t, db, "g", "h")
	mustNotWait(t, "Complete", func() error { return db.Complete(ctx, outcome(ds["g"], hookd.StateSuccessful), time.Now()) })
	mustWait(t, "UpdateWebhook", release, func() error { return db.UpdateWebhook(ctx, w) })

	if err := db.DeferMessage(ctx, ds["h"].Message.ID, ds["h"].Lease, time.Now()); err != nil {
		t.Fatal(err)
	}
	release = holdLock(t, u, "SELECT pg_advisory_lock($1)", "SELECT pg_advisory_unlock($1)", int64(postgres.WriteLock))
	var h []*hookd.Delivery
	mustNotWait(t, "Claim", func() error {
		var err error
		if h, err = db.Claim(ctx, time.Now().Add(time.Second), 100, time.Hour); err == nil && len(h) != 1 {
			err = fmt.Errorf("claimed %d messages, want the one of group h", len(h))
		}
		return err
	})
	mustWait(t, "Complete", release, func() error { return db.Complete(ctx, outcome(h[0], hookd.StateSuccessful), time.Now()) })
}

// A Publish to a group waits for the group's lock, and so does a Complete
// that releases the group's next message; a Complete that does not
// release it (a retry), and a Publish to another group, do not. (The
// retry comes last: it starts the webhook's failure streak, and the
// success after it would announce the streak's end and so run alone,
// under the exclusive write lock, which needs no group lock.)
func TestGroupLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, u := openLockDB(t)
	tenant, _ := lockTenant(t, db)
	for _, g := range []string{"g", "g", "h"} {
		if err := publishIn(db, tenant, g, ""); err != nil {
			t.Fatal(err)
		}
	}
	ds := claim(t, db, "g", "h")
	dg, dh := ds["g"], ds["h"]
	a, b := postgres.GroupLock(tenant, "g")
	lock := func() func() {
		return holdLock(t, u, "SELECT pg_advisory_lock($1, $2)", "SELECT pg_advisory_unlock($1, $2)", a, b)
	}

	release := lock()
	mustNotWait(t, "Publish to another group", func() error { return publishIn(db, tenant, "h", "") })
	mustWait(t, "Publish to the group", release, func() error { return publishIn(db, tenant, "g", "") })

	release = lock()
	mustWait(t, "Complete that releases the group", release, func() error {
		return db.Complete(ctx, outcome(dg, hookd.StateSuccessful), time.Now())
	})

	release = lock()
	mustNotWait(t, "Complete that retries", func() error {
		return db.Complete(ctx, outcome(dh, hookd.StateRetrying), time.Now())
	})
	release()
	claim(t, db, "g", "h") // g's next one, released; h's retried
}

// A Publish with an idempotency key waits for the key's lock; one without
// does not.
func TestIdempotencyKeyLock(t *testing.T) {
	t.Parallel()
	db, u := openLockDB(t)
	tenant, _ := lockTenant(t, db)
	a, b := postgres.IdempotencyLock(tenant, "k")
	release := holdLock(t, u, "SELECT pg_advisory_lock($1, $2)", "SELECT pg_advisory_unlock($1, $2)", a, b)
	mustNotWait(t, "Publish without the key", func() error { return publishIn(db, tenant, "", "") })
	mustWait(t, "Publish with the key", release, func() error { return publishIn(db, tenant, "", "k") })
}

// A Complete whose outcome suspends a webhook (and holds its waiting
// messages, which another node's Publish may be adding to), or announces
// the start of its failure streak (which another node may be starting
// too), takes the write lock exclusively: it waits while another
// transaction holds it shared, where a Complete that continues the streak
// goes ahead.
func TestSuspensionTakesTheWriteLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, u := openLockDB(t)
	tenant, w := lockTenant(t, db)
	w.FailureHandling.SuspendAfter = hookd.Duration(time.Hour)
	if err := db.UpdateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"g", "h", "i"} {
		if err := publishIn(db, tenant, g, ""); err != nil {
			t.Fatal(err)
		}
	}
	ds := claim(t, db, "g", "h", "i")
	start := time.Now()
	fail := func(d *hookd.Delivery) []hookd.Outcome {
		o := outcome(d, hookd.StateRetrying)
		o[0].Attempt.StartedAt, o[0].Attempt.StatusCode = start, 500
		return o
	}
	shared := func() func() {
		return holdLock(t, u, "SELECT pg_advisory_lock_shared($1)", "SELECT pg_advisory_unlock_shared($1)", int64(postgres.WriteLock))
	}

	mustWait(t, "Complete that starts a failure streak", shared(), func() error { return db.Complete(ctx, fail(ds["g"]), start) })
	release := shared()
	mustNotWait(t, "Complete that continues a failure streak", func() error {
		return db.Complete(ctx, fail(ds["h"]), start.Add(time.Second))
	})
	mustWait(t, "Complete that suspends", release, func() error {
		return db.Complete(ctx, fail(ds["i"]), start.Add(2*time.Hour))
	})
	got, err := db.GetWebhook(ctx, tenant, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Suspended {
		t.Error("webhook not suspended")
	}
	evs, err := db.ListEvents(ctx, tenant, hookd.EventFilter{Type: hookd.EventWebhookFailing, Page: hookd.Page{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Errorf("%d events %s, want 1", len(evs), hookd.EventWebhookFailing)
	}
}
