package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// Publish calls made while the writer waits share one transaction (group
// commit), and a call that breaks a rule fails alone: the others commit.
func TestPublishGroupCommit(t *testing.T) {
	t.Parallel()
	app := fmt.Sprintf("hookd_test_round_%d_%d", os.Getpid(), names.Add(1))
	db, err := postgres.Open(context.Background(), withQuery(t, pgtest.FreshURL(t), "application_name", app))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	mustTenantAndWebhook(t, db, "w", "https://example.com/")
	var mu sync.Mutex
	var rounds []int
	db.OnRound(func(n int) { mu.Lock(); rounds = append(rounds, n); mu.Unlock() })

	raw, err := sql.Open("pgx", pgtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	release := holdWriteLock(t)
	const calls = 20
	type result struct {
		tenant string
		err    error
	}
	results := make(chan result, calls)
	publish := func(tenant string) {
		_, err := db.Publish(ctx, tenant, []hookd.EventInput{{Type: "t", Payload: []byte(`1`)}}, t0)
		results <- result{tenant, err}
	}
	go publish("a") // the first call: its round waits for the lock
	waitForLockWaiters(t, raw, app, 1)
	for i := 1; i < calls; i++ {
		tenant := "a"
		if i == calls/2 {
			tenant = "nobody" // ENOTFOUND, in the middle of the round
		}
		go publish(tenant)
	}
	time.Sleep(200 * time.Millisecond) // the calls queue behind the first
	release()
	for range calls {
		r := <-results
		switch {
		case r.tenant == "nobody" && hookd.ErrorCode(r.err) != hookd.ENOTFOUND:
			t.Errorf("Publish to an unknown tenant: %v, want ENOTFOUND", r.err)
		case r.tenant == "a" && r.err != nil:
			t.Errorf("Publish: %v", r.err)
		}
	}
	msgs, err := db.ListMessages(ctx, "a", hookd.MessageFilter{Page: hookd.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != calls-1 {
		t.Errorf("%d messages stored, want %d", len(msgs), calls-1)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(rounds) > 2 {
		t.Errorf("%d calls took %d transactions %v, want them to share one or two", calls, len(rounds), rounds)
	}
}

// Close commits what is queued; a Publish after it fails and stores nothing.
func TestPublishAfterClose(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	mustTenantAndWebhook(t, db, "w", "https://example.com/")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Publish(context.Background(), "a", []hookd.EventInput{{Type: "t"}}, t0); err == nil {
		t.Fatal("Publish after Close succeeded")
	}
}

// The delivery engine's bookkeeping commits without waiting for the disk;
// Publish waits (an event is durable before its 202).
func TestLazyCommits(t *testing.T) {
	t.Parallel()
	// make test's server runs with synchronous_commit off: on here.
	db, err := postgres.Open(context.Background(), withQuery(t, pgtest.FreshURL(t), "synchronous_commit", "on"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tt := range []struct {
		name string
		lazy bool
	}{{"tx", false}, {"txLazy", true}} {
		var got string
		err := db.InTx(context.Background(), tt.lazy, func(q func(string) *sql.Row) error {
			return q("SHOW synchronous_commit").Scan(&got)
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{false: "on", true: "off"}[tt.lazy]; got != want {
			t.Errorf("%s: synchronous_commit = %s, want %s", tt.name, got, want)
		}
	}
}
