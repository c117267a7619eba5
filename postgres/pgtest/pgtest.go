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
