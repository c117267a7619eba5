package postgres_test

// Tests of what PostgreSQL does differently from SQLite, where the shared
// storetest suite, run on a server in its default configuration, cannot
// tell: the locale of the database, text that is not counted in bytes,
// writes that must wait for the write lock, and the server's default
// isolation level.

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

var names atomic.Int64 // numbers the databases and application names of these tests

func mustTenantAndWebhook(t *testing.T, db hookd.Store, name, rawURL string) *hookd.Webhook {
	t.Helper()
	ctx := context.Background()
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	return mustWebhook(t, db, name, rawURL)
}

func mustWebhook(t *testing.T, db hookd.Store, name, rawURL string) *hookd.Webhook {
	t.Helper()
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.Name, w.URL, w.EventTypes = "a", name, rawURL, []string{"*"}
	if err := db.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

// withQuery returns u with the query parameters kv (name, value, …) set.
func withQuery(t *testing.T, u string, kv ...string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	for i := 0; i < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	p.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads no '+' as a space
	return p.String()
}

// openLocaleDB opens a store on a new database, dropped when t ends, whose
// default collation folds case beyond ASCII, as a database created with
// an operator's en_US.UTF-8 or C.UTF-8 locale does. The test server
// (scripts/with-postgres) runs with locale C, where it does not. Skips
// when the server can create no such database.
func openLocaleDB(t *testing.T) *postgres.DB {
	t.Helper()
	base := pgtest.ServerURL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("hookd_test_locale_%d_%d", os.Getpid(), names.Add(1))
	var tried []string
	for _, locale := range []string{"C.UTF-8", "C.utf8", "en_US.UTF-8", "en_US.utf8"} {
		_, err = admin.Exec("CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8' LOCALE '" + locale + "'")
		if err == nil {
			break
		}
		tried = append(tried, fmt.Sprintf("%s: %v", locale, err))
	}
	if err != nil {
		t.Skipf("SKIPPED: cannot create a database with a UTF-8 locale: %v", tried)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	p, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p.Path = "/" + name
	db, err := postgres.Open(context.Background(), p.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sql.Open("pgx", p.String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var folds bool
	if err := raw.QueryRow("SELECT lower('É') = 'é'").Scan(&folds); err != nil {
		t.Fatal(err)
	}
	if !folds {
		t.Skip("SKIPPED: the database's locale does not fold É")
	}
	return db
}

// The name filter folds case as the SQLite store's lower() does, ASCII
// letters only, whatever the database's locale: lower() of a parameter
// follows the database's default collation, lower() of the COLLATE "C"
// column does not, so on a database with a UTF-8 locale a name with a
// capital non-ASCII letter did not even find itself.
func TestListWebhooksNameLocale(t *testing.T) {
	t.Parallel()
	db := openLocaleDB(t)
	w := mustTenantAndWebhook(t, db, "Émile Zola", "https://example.com/zola")
	for _, tt := range []struct {
		filter string
		found  bool
	}{
		{"Émile Zola", true},
		{"Émile", true},
		{"ÉMILE", true}, // É is É, MILE folds
		{"mile zo", true},
		{"ZOLA", true},
		{"émile", false}, // as on SQLite: only ASCII letters fold
	} {
		t.Run(tt.filter, func(t *testing.T) {
			got, err := db.ListWebhooks(context.Background(), hookd.WebhookFilter{TenantID: "a", Name: tt.filter})
			if err != nil {
				t.Fatal(err)
			}
			if found := len(got) == 1 && got[0].ID == w.ID; found != tt.found || len(got) > 1 {
				t.Errorf("Name %q found %d webhooks, want found=%v", tt.filter, len(got), tt.found)
			}
		})
	}
}

// A URL prefix is matched in characters, not in the bytes of the Go
// string: a normalised URL keeps a non-ASCII query as written, and
// substr() counts characters, so a prefix with such a character matched
// one character too many.
func TestListWebhooksURLPrefixNonASCII(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	ctx := context.Background()
	w := mustTenantAndWebhook(t, db, "q", "https://example.com/search?q=é&lang=fr")
	other := mustWebhook(t, db, "other", "https://example.com/search?q=e")
	for _, tt := range []struct {
		prefix string
		want   []*hookd.Webhook
	}{
		{"https://example.com/search?q=", []*hookd.Webhook{w, other}},
		{"https://example.com/search?q=é", []*hookd.Webhook{w}},
		{"https://example.com/search?q=é&", []*hookd.Webhook{w}},
		{"https://example.com/search?q=é&lang=fr", []*hookd.Webhook{w}},
		{"https://example.com/search?q=é&lang=frx", nil},
		{"https://example.com/search?q=ée", nil},
	} {
		t.Run(tt.prefix, func(t *testing.T) {
			got, err := db.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "a", URLPrefix: tt.prefix})
			if err != nil {
				t.Fatal(err)
			}
			ids := func(ws []*hookd.Webhook) []string {
				var out []string
				for _, w := range ws {
					out = append(out, w.ID)
				}
				slices.Sort(out)
				return out
			}
			if g, w := ids(got), ids(tt.want); !slices.Equal(g, w) {
				t.Errorf("URLPrefix %q = %v, want %v", tt.prefix, g, w)
			}
		})
	}
}

// holdWriteLock takes the store's write lock on a connection of its own
// and returns the function that lets it go. Every other test's writes wait
// meanwhile: keep it short.
func holdWriteLock(t *testing.T) (release func()) {
	t.Helper()
	raw, err := sql.Open("pgx", pgtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := raw.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_lock($1)", int64(postgres.WriteLock)); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", int64(postgres.WriteLock)); err != nil {
				t.Error(err)
			}
			conn.Close()
			raw.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// waitForLockWaiters waits until n transactions of the connections named
// app wait for the write lock.
func waitForLockWaiters(t *testing.T, raw *sql.DB, app string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		err := raw.QueryRow(`SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE a.application_name = $1 AND l.locktype = 'advisory' AND NOT l.granted`, app).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions wait for the write lock, want %d", waiting, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Every write waits for the write lock, the single writer of the SQLite
// store, not only those in a transaction: SetSecrets written past it
// could be undone by an UpdateWebhook that read the old secrets before
// and wrote them back after.
func TestWritesWaitForTheWriteLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		write func(db *postgres.DB, w *hookd.Webhook) error
	}{
		{"SetSecrets", func(db *postgres.DB, w *hookd.Webhook) error {
			return db.SetSecrets(ctx, "a", w.ID, []hookd.Secret{{Value: "whsec_bmV3c2VjcmV0bmV3c2VjcmV0", CreatedAt: t0}})
		}},
		{"CreateTenant", func(db *postgres.DB, w *hookd.Webhook) error {
			return db.CreateTenant(ctx, &hookd.Tenant{ID: "b", Name: "B"})
		}},
		{"DeleteAPIKey", func(db *postgres.DB, w *hookd.Webhook) error {
			err := db.DeleteAPIKey(ctx, "a", "key_none")
			if hookd.ErrorCode(err) == hookd.ENOTFOUND {
				return nil
			}
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := MustOpenDB(t)
			w := mustTenantAndWebhook(t, db, "w", "https://example.com/")
			release := holdWriteLock(t)
			done := make(chan error, 1)
			go func() { done <- tt.write(db, w) }()
			select {
			case err := <-done:
				release()
				t.Fatalf("%s returned (%v) while another transaction held the write lock", tt.name, err)
			case <-time.After(300 * time.Millisecond):
			}
			release()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%s did not return once the write lock was free", tt.name)
			}
		})
	}
}

// Write transactions run at READ COMMITTED whatever the server's default
// (default_transaction_isolation, set here on the connection as an
// operator may set it for the database): at REPEATABLE READ or
// SERIALIZABLE a transaction's snapshot is taken when it asks for the
// write lock, so one that waited for it (or for a group's lock) would not
// see the writes of the one before: a group's messages, an idempotency
// key.
func TestWritesIgnoreDefaultIsolation(t *testing.T) {
	t.Parallel()
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			app := fmt.Sprintf("hookd_test_iso_%d_%d", os.Getpid(), names.Add(1))
			u := withQuery(t, pgtest.FreshURL(t), "default_transaction_isolation", level, "application_name", app)
			// One store per call, as if each were a process of its own:
			// the calls of one store share a transaction (group commit).
			const calls = 3
			dbs := make([]*postgres.DB, calls)
			for i := range dbs {
				db, err := postgres.Open(context.Background(), u)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				dbs[i] = db
			}
			db := dbs[0]
			ctx := context.Background()
			mustTenantAndWebhook(t, db, "w", "https://example.com/")

			raw, err := sql.Open("pgx", pgtest.ServerURL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			release := holdWriteLock(t)
			errs := make(chan error, calls)
			for i := range calls {
				go func() {
					_, err := dbs[i].Publish(ctx, "a", []hookd.EventInput{{Type: "t", Payload: []byte(fmt.Sprint(i))}}, t0)
					errs <- err
				}()
			}
			// Release the lock once every call waits for it: each has
			// begun its transaction.
			waitForLockWaiters(t, raw, app, calls)
			release()
			for range calls {
				if err := <-errs; err != nil {
					t.Errorf("Publish: %v", err)
				}
			}
			msgs, err := db.ListMessages(ctx, "a", hookd.MessageFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != calls {
				t.Errorf("%d messages stored, want %d", len(msgs), calls)
			}
		})
	}
}
