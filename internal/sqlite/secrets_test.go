package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/seal"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/sqlstore"
	"github.com/hookd/hookd/internal/storetest"
)

// secretsIn returns which of the secret values the database's files (the
// database, its WAL) hold, byte for byte.
func secretsIn(t *testing.T, path string) []string {
	t.Helper()
	var files [][]byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	var found []string
	for _, s := range []string{storetest.SealedSecret, storetest.SealedRotated, storetest.SealedPassword, storetest.SealedToken} {
		for _, b := range files {
			if bytes.Contains(b, []byte(s)) {
				found = append(found, s)
				break
			}
		}
	}
	return found
}

// writeSecrets exercises every write of webhook secrets: create with
// Basic and Bearer auth, an update, a rotation, and the reads of Publish,
// Claim and a test message.
func writeSecrets(t *testing.T, db *sqlite.DB, tenant string) {
	t.Helper()
	ctx := context.Background()
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: tenant, Name: tenant}); err != nil {
		t.Fatal(err)
	}
	mk := func(i int, auth *hookd.Auth) *hookd.Webhook {
		w := hookd.NewWebhookDefaults()
		w.TenantID, w.Name, w.URL, w.EventTypes = tenant, "w", "https://example.com/"+tenant+"/"+string(rune('a'+i)), []string{"*"}
		w.Secrets = []hookd.Secret{{Value: storetest.SealedSecret, CreatedAt: time.Now()}}
		w.Auth = auth
		if err := db.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		return w
	}
	basic := mk(0, &hookd.Auth{Type: hookd.AuthBasic, Username: "u", Password: storetest.SealedPassword})
	bearer := mk(1, &hookd.Auth{Type: hookd.AuthBearer, Token: storetest.SealedToken})
	basic.Description = "updated"
	if err := db.UpdateWebhook(ctx, basic); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	if err := db.SetSecrets(ctx, tenant, bearer.ID, []hookd.Secret{{Value: storetest.SealedRotated, CreatedAt: time.Now()},
		{Value: storetest.SealedSecret, CreatedAt: time.Now(), ExpiresAt: &exp}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Publish(ctx, tenant, []hookd.EventInput{{Type: "x", Payload: []byte(`{}`)}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if ds, err := db.Claim(ctx, time.Now(), 10, time.Minute); err != nil || len(ds) != 2 {
		t.Fatalf("Claim = %d deliveries, %v", len(ds), err)
	}
	if _, err := db.CreateTestMessage(ctx, tenant, basic.ID, hookd.EventInput{Type: "t", Payload: []byte(`{}`)}, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestNoSecretInDatabaseFiles reads the bytes of the database file and its
// WAL and finds no signing secret, password or token: not after writes
// under a key, not after plain rows of an older hookd were sealed at
// start (their old text is scrubbed, not left in free space), and no
// ciphertext of a rotated-out key after a rekey.
func TestNoSecretInDatabaseFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	a, b := storetest.SealingKeys(t)

	// A store without keys (hookd before sealing) writes them in plain
	// text: the search finds them.
	plain, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	writeSecrets(t, plain, "old")
	if got := secretsIn(t, path); len(got) != 4 {
		t.Fatalf("plain store's files hold %q, want all four secrets: the search is broken", got)
	}
	if err := plain.Close(); err != nil {
		t.Fatal(err)
	}
	if got := secretsIn(t, path); len(got) == 0 {
		t.Fatal("plain store's files after close hold no secret: the search is broken")
	}

	// Opened with a key, the store seals them and scrubs the old text.
	db, err := sqlite.Open(ctx, path, sqlstore.WithKeys(storetest.Keyring(t, a)))
	if err != nil {
		t.Fatal(err)
	}
	if got := secretsIn(t, path); len(got) != 0 {
		t.Fatalf("after sealing at start the files hold %q", got)
	}
	writeSecrets(t, db, "new")
	if got := secretsIn(t, path); len(got) != 0 {
		t.Fatalf("after writes under a key the files hold %q", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := secretsIn(t, path); len(got) != 0 {
		t.Fatalf("after close the files hold %q", got)
	}

	// A rekey leaves no ciphertext of the previous key behind.
	db, err = sqlite.Open(ctx, path, sqlstore.WithKeys(storetest.Keyring(t, b, a)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	oldSealed := []byte(seal.Prefix + a.ID() + ":")
	if n, err := db.Rekey(ctx, 1); err != nil || n != 4 {
		t.Fatalf("Rekey = %d, %v; want the 4 webhooks", n, err)
	}
	for _, p := range []string{path, path + "-wal"} {
		if data, _ := os.ReadFile(p); bytes.Contains(data, oldSealed) {
			for off := 0; ; {
				i := bytes.Index(data[off:], oldSealed)
				if i < 0 {
					break
				}
				t.Logf("at %d page %d", off+i, (off+i)/4096+1)
				off += i + 1
			}
			t.Errorf("%s holds a value sealed under the rotated-out key after Rekey", filepath.Base(p))
		}
	}
	if got := secretsIn(t, path); len(got) != 0 {
		t.Fatalf("after rekey the files hold %q", got)
	}
}

// TestDatabaseFilesPrivate: the database, its WAL and shared-memory files
// are readable by their owner alone, whether new or left 0644 by an older
// hookd.
func TestDatabaseFilesPrivate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	check := func(when string, path string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s: %s has mode %v, want 0600", when, filepath.Base(p), got)
			}
		}
	}
	fresh := filepath.Join(dir, "fresh.db")
	db := MustOpenPath(t, fresh)
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	check("a new database", fresh)

	// An older hookd's files: 0644.
	old := filepath.Join(dir, "old.db")
	odb := MustOpenPath(t, old)
	if err := odb.CreateTenant(ctx, &hookd.Tenant{ID: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{old, old + "-wal", old + "-shm"} {
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db2 := MustOpenPath(t, old)
	if _, err := db2.GetTenant(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	check("an older database reopened", old)
}
