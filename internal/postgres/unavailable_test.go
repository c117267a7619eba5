package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

func TestUnavailableErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&pgconn.PgError{Code: "53100"}, "the database's disk is full"},
		{fmt.Errorf("publish: %w", &pgconn.PgError{Code: "53300"}), "the database is out of resources"},
		{&pgconn.PgError{Code: "57P01"}, "the database is shutting down"},
		{&pgconn.PgError{Code: "57P03"}, "the database is starting up"},
		{&pgconn.PgError{Code: "08006"}, "the connection to the database failed"},
		{&pgconn.PgError{Code: "25006"}, "the database is read-only"},
		{&pgconn.PgError{Code: "58030"}, "the database cannot read or write its files"},
		{&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, "the connection to the database failed"},
		{pgconn.ErrConnClosed, "the connection to the database failed"},
		{&pgconn.PgError{Code: "23505"}, ""}, // a unique violation is the caller's
		{&pgconn.PgError{Code: "42P01"}, ""}, // undefined table: a bug
		{context.Canceled, ""},
		{errors.New("boom"), ""},
	} {
		if got := postgres.Unavailable(tt.err); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.err, got, tt.want)
		}
	}
}

// With the database out of reach every call, read or write, answers
// EUNAVAILABLE, and Ping says writes fail; once it is back, calls succeed,
// Ping is ready again once no write failed for a while, and nothing
// stored before is gone.
func TestDatabaseAway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	proxy, u := pgtest.NewProxy(t, pgtest.FreshURL(t))
	db, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var mu sync.Mutex
	now := time.Now()
	db.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	ev := []hookd.EventInput{{Type: "order.created", Payload: json.RawMessage(`{}`)}}
	res, err := db.Publish(ctx, "acme", ev, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}

	proxy.Cut()
	wantAway := func(what string, err error) {
		t.Helper()
		msg := hookd.ErrorMessage(err)
		if hookd.ErrorCode(err) != hookd.EUNAVAILABLE || !strings.Contains(msg, "database") {
			t.Fatalf("%s with the database away: %v, want unavailable", what, err)
		}
	}
	_, err = db.Publish(ctx, "acme", ev, now)
	wantAway("publish", err)
	wantAway("create tenant", db.CreateTenant(ctx, &hookd.Tenant{ID: "globex"}))
	_, err = db.GetEvent(ctx, "acme", res[0].EventID)
	wantAway("get event", err)
	_, err = db.Claim(ctx, now, 10, time.Minute)
	wantAway("claim", err)
	wantAway("ping", db.Ping(ctx))

	proxy.Restore()
	if _, err := db.Publish(ctx, "acme", ev, now); err != nil {
		t.Fatalf("publish with the database back: %v", err)
	}
	if _, err := db.GetEvent(ctx, "acme", res[0].EventID); err != nil {
		t.Fatalf("event published before: %v", err)
	}
	if err := db.Ping(ctx); hookd.ErrorCode(err) != hookd.EUNAVAILABLE || !strings.Contains(hookd.ErrorMessage(err), "writes fail since") {
		t.Fatalf("ping just after writes failed: %v", err)
	}
	mu.Lock()
	now = now.Add(10 * time.Second)
	mu.Unlock()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping with the database back: %v", err)
	}
}
