// Package pgtest gives tests an empty PostgreSQL schema of their own on the
// server named by HOOKD_TEST_POSTGRES (`make test` starts a throwaway one,
// see scripts/with-postgres).
package pgtest

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// ServerURL returns HOOKD_TEST_POSTGRES. Without it the test is skipped,
// saying so, unless HOOKD_REQUIRE_POSTGRES is set (make test and CI set
// it): then it fails.
func ServerURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("HOOKD_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("HOOKD_REQUIRE_POSTGRES") != "" {
			tb.Fatal("HOOKD_REQUIRE_POSTGRES is set but HOOKD_TEST_POSTGRES is not")
		}
		tb.Skip("SKIPPED: no PostgreSQL server; run `make test` or set HOOKD_TEST_POSTGRES")
	}
	return u
}

var schemas atomic.Int64

// FreshURL creates an empty schema, dropped when tb ends, and returns the
// server's URL with search_path set to it.
func FreshURL(tb testing.TB) string {
	tb.Helper()
	base := ServerURL(tb)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("hookd_test_%d_%d", os.Getpid(), schemas.Add(1))
	if _, err := admin.Exec("DROP SCHEMA IF EXISTS " + name + " CASCADE; CREATE SCHEMA " + name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

var databases atomic.Int64

// FreshDatabaseURL creates an empty database of its own, dropped when tb
// ends, and returns the server's URL naming it. Advisory locks are a
// database's: a test that holds the store's write lock, or waits to see
// who waits for it, needs a database no other test writes to, where
// schemas (FreshURL) share one.
func FreshDatabaseURL(tb testing.TB) string {
	tb.Helper()
	base := ServerURL(tb)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("hookd_test_db_%d_%d", os.Getpid(), databases.Add(1))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("drop database: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
