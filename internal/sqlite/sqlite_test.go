package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/seal"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/sqlstore"
	"github.com/hookd/hookd/internal/storetest"
)

// MustOpenDB opens a fresh database in a temporary directory, closed when
// tb ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	return MustOpenPath(tb, filepath.Join(tb.TempDir(), "hookd.db"))
}

// TestStore runs the suite on a store that seals webhook secrets, as
// hookd serve opens it: every path reading secrets opens them.
func TestStore(t *testing.T) {
	t.Parallel()
	a, _ := storetest.SealingKeys(t)
	keys := storetest.Keyring(t, a)
	storetest.Exercise(t, func(t *testing.T) hookd.Store {
		return MustOpenPath(t, filepath.Join(t.TempDir(), "hookd.db"), sqlstore.WithKeys(keys))
	})
}

// Reopening a database applies no migration twice and keeps the data.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
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
	db = MustOpenPath(t, path)
	if got, err := db.GetTenant(ctx, "acme"); err != nil || got.Name != "Acme" {
		t.Fatalf("tenant after reopen = %+v, %v", got, err)
	}
	raw := rawDB(t, path)
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
	var mode string
	if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// Reads go through their own pool: while the Store's writer waits for a
// lock (here another process's BEGIN IMMEDIATE), reads still answer.
func TestReadsDoNotWaitForTheWriter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db := MustOpenPath(t, path)
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, path)
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	// The Store's only writer connection now waits in busy_timeout.
	done := make(chan error, 1)
	go func() { done <- db.CreateTenant(ctx, &hookd.Tenant{ID: "blocked"}) }()
	time.Sleep(50 * time.Millisecond) // let it take the connection; the test holds either way
	readCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := db.GetTenant(readCtx, "acme"); err != nil {
		t.Fatalf("read while the writer waits: %v", err)
	}
	if _, _, err := db.NextDue(readCtx); err != nil {
		t.Fatalf("NextDue while the writer waits: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
}

// MustOpenPath opens the database at path, closed when tb ends.
func MustOpenPath(tb testing.TB, path string, opts ...sqlstore.Option) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// rawDB opens path with the driver directly, to look beneath the Store.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	return raw
}

// The delivery engine's bookkeeping commits without an fsync, everything
// else (Publish, API writes) with one, whatever ran before on the writer.
func TestSynchronousPerTransaction(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, normal := range []bool{false, true, true, false, true, false, false} {
		got, err := sqlite.WriterSynchronous(db, normal)
		if err != nil {
			t.Fatal(err)
		}
		want := 2
		if normal {
			want = 1
		}
		if got != want {
			t.Errorf("normal %v: synchronous %d, want %d", normal, got, want)
		}
	}
}

// The API's one-statement writes commit with an fsync too, also right
// after the delivery engine's bookkeeping left the writer at NORMAL.
func TestOneStatementWritesAreDurable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	w := mustTenantHook(t, db, "https://example.com/")
	key := &hookd.APIKey{TenantID: "a", Name: "k", TokenHash: "h", Prefix: "p", Scopes: hookd.Scopes}
	if err := db.CreateAPIKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		write func() error
	}{
		{"CreateTenant", func() error { return db.CreateTenant(ctx, &hookd.Tenant{ID: "b"}) }},
		{"SetSecrets", func() error {
			return db.SetSecrets(ctx, "a", w.ID, []hookd.Secret{{Value: "whsec_bmV3c2VjcmV0bmV3c2VjcmV0", CreatedAt: time.Now()}})
		}},
		{"DeleteAPIKey", func() error { return db.DeleteAPIKey(ctx, "a", key.ID) }},
		{"Sweep", func() error { _, err := db.Sweep(ctx, time.Now(), 10, time.Now()); return err }},
	} {
		if err := db.TouchAPIKey(ctx, key.ID, time.Now()); err != nil { // NORMAL
			t.Fatal(err)
		}
		if got := sqlite.LastSynchronous(db); got != 1 {
			t.Fatalf("after TouchAPIKey: synchronous %d, want 1", got)
		}
		if err := tt.write(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := sqlite.LastSynchronous(db); got != 2 {
			t.Errorf("%s committed at synchronous %d, want 2 (FULL)", tt.name, got)
		}
	}
}

// mustTenantHook creates tenant "a" and a webhook of it, see mustHook.
func mustTenantHook(tb testing.TB, db *sqlite.DB, url string, opts ...func(*hookd.Webhook)) *hookd.Webhook {
	tb.Helper()
	if err := db.CreateTenant(context.Background(), &hookd.Tenant{ID: "a"}); err != nil {
		tb.Fatal(err)
	}
	return mustHook(tb, db, url, opts...)
}

// mustHook creates a webhook of tenant "a" for every event type to url,
// changed by opts.
func mustHook(tb testing.TB, db *sqlite.DB, url string, opts ...func(*hookd.Webhook)) *hookd.Webhook {
	tb.Helper()
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.URL, w.EventTypes = "a", url, []string{"*"}
	for _, o := range opts {
		o(w)
	}
	if err := db.CreateWebhook(context.Background(), w); err != nil {
		tb.Fatal(err)
	}
	return w
}

// sealingDB is a fresh database file for storetest.ExerciseSealing.
func sealingDB(t *testing.T) storetest.SealingDB {
	path := filepath.Join(t.TempDir(), "hookd.db")
	return storetest.SealingDB{
		Open: func(keys *seal.Keyring) (storetest.SealingStore, error) {
			return sqlite.Open(context.Background(), path, sqlstore.WithKeys(keys))
		},
		Raw: rawDB(t, path),
	}
}

func TestSealing(t *testing.T) {
	t.Parallel()
	storetest.ExerciseSealing(t, sealingDB)
}
