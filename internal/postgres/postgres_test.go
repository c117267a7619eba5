package postgres_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/seal"
	"github.com/hookd/hookd/internal/sqlstore"
	"github.com/hookd/hookd/internal/storetest"
)

// MustOpenDB opens a store on a fresh schema, closed when tb ends.
func MustOpenDB(tb testing.TB) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), pgtest.FreshURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestStore runs the suite on a store that seals webhook secrets, as
// hookd serve opens it: every path reading secrets opens them.
func TestStore(t *testing.T) {
	t.Parallel()
	a, _ := storetest.SealingKeys(t)
	keys := storetest.Keyring(t, a)
	storetest.Exercise(t, func(t *testing.T) hookd.Store {
		db, err := postgres.Open(context.Background(), pgtest.FreshURL(t), sqlstore.WithKeys(keys))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// TestSealing checks, among others, that the columns as PostgreSQL holds
// them are ciphertext.
func TestSealing(t *testing.T) {
	t.Parallel()
	storetest.ExerciseSealing(t, func(t *testing.T) storetest.SealingDB {
		u := pgtest.FreshURL(t)
		raw, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return storetest.SealingDB{
			Open: func(keys *seal.Keyring) (storetest.SealingStore, error) {
				return postgres.Open(context.Background(), u, sqlstore.WithKeys(keys))
			},
			Raw: raw,
		}
	})
}

// Reopening applies no migration twice and keeps the data; two processes
// opening a new database at once apply each migration once.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.FreshURL(t)
	opened := make(chan error, 2)
	dbs := make(chan *postgres.DB, 2)
	for range 2 {
		go func() {
			db, err := postgres.Open(ctx, u)
			if err == nil {
				dbs <- db
			}
			opened <- err
		}()
	}
	for range 2 {
		if err := <-opened; err != nil {
			t.Fatal(err)
		}
	}
	db := <-dbs
	(<-dbs).Close()
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.GetTenant(ctx, "acme"); err != nil || got.Name != "Acme" {
		t.Fatalf("tenant after reopen = %+v, %v", got, err)
	}
	raw, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n, max int
	if err := raw.QueryRow("SELECT count(*), max(version) FROM schema_version").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	// One row per migration file: numbers may have gaps (each branch
	// reserves its own), so the count is that of the files.
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(files) || n == 0 {
		t.Fatalf("schema_version has %d rows up to version %d; %d migrations", n, max, len(files))
	}
}

// A bad URL or an unreachable server is an error from Open, not a panic.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, u := range []string{"postgres://127.0.0.1:1/x?sslmode=disable&connect_timeout=2", "postgres://%zz"} {
		if db, err := postgres.Open(ctx, u); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}
