package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/seal"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/sqlstore"
)

func mustKeyFile(t *testing.T, path string) *seal.Key {
	t.Helper()
	k, err := seal.CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", filepath.Base(path), got, want)
	}
}

func TestLoadKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	given := mustKeyFile(t, filepath.Join(dir, "given.key"))
	prev := mustKeyFile(t, filepath.Join(dir, "prev.key"))

	// SQLite without a key file: generated into the data directory once,
	// then read.
	kr, gen, err := loadKeys(keySource{DB: "sqlite://x", DataDir: data, Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(data, keyFileName); gen != want {
		t.Fatalf("generated %q, want %q", gen, want)
	}
	wantMode(t, gen, 0o600)
	again, gen2, err := loadKeys(keySource{DB: "sqlite://x", DataDir: data, Generate: true})
	if err != nil || gen2 != "" || again.Current().ID() != kr.Current().ID() {
		t.Fatalf("second start: key %v, generated %q, %v; want the first key again", again, gen2, err)
	}

	for _, tt := range []struct {
		name    string
		src     keySource
		current string // the current key's id; "" an error
		opens   string // a previous key's id it holds too
		err     string
	}{
		{name: "key file given", src: keySource{DB: "sqlite://x", DataDir: data, Current: filepath.Join(dir, "given.key"), Generate: true},
			current: given.ID()},
		{name: "with a previous key", src: keySource{DB: "sqlite://x", Current: filepath.Join(dir, "given.key"), Previous: filepath.Join(dir, "prev.key")},
			current: given.ID(), opens: prev.ID()},
		{name: "PostgreSQL needs a key file", src: keySource{DB: "postgres://h/db", DataDir: data, Generate: true},
			err: "--encryption-key-file"},
		{name: "PostgreSQL with a key file", src: keySource{DB: "postgresql://h/db", Current: filepath.Join(dir, "given.key")},
			current: given.ID()},
		{name: "rekey generates nothing", src: keySource{DB: "sqlite://x", DataDir: filepath.Join(dir, "empty")},
			err: "no encryption key"},
		{name: "missing key file", src: keySource{DB: "sqlite://x", Current: filepath.Join(dir, "nope.key")},
			err: "nope.key"},
		{name: "missing previous key file", src: keySource{DB: "sqlite://x", Current: filepath.Join(dir, "given.key"), Previous: filepath.Join(dir, "nope.key")},
			err: "nope.key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kr, _, err := loadKeys(tt.src)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kr.Current().ID() != tt.current {
				t.Errorf("current key %s, want %s", kr.Current().ID(), tt.current)
			}
			if tt.opens != "" && !kr.Has(tt.opens) {
				t.Errorf("keyring lacks previous key %s", tt.opens)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "empty", keyFileName)); !os.IsNotExist(err) {
		t.Errorf("rekey's key lookup created a key: %v", err)
	}
}

// TestServeFilesPrivate starts hookd on a new data directory: the root
// token, the generated key and the SQLite files are the owner's alone.
func TestServeFilesPrivate(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	cfg, err := parseServeConfig([]string{"--addr", "127.0.0.1:0", "--data-dir", data}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var stdout bytes.Buffer // written before ready is sent
	go func() { done <- runServer(ctx, cfg, slog.New(slog.DiscardHandler), &stdout, ready) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("hookd stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("hookd not ready after 30s")
	}
	if want := "generated the key that encrypts webhook secrets"; !strings.Contains(stdout.String(), want) {
		t.Errorf("first start printed %q, want it to say %q", stdout.String(), want)
	}
	for _, f := range []string{"root-token", keyFileName, "hookd.db", "hookd.db-wal", "hookd.db-shm"} {
		wantMode(t, filepath.Join(data, f), 0o600)
	}
	wantMode(t, data, 0o700)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestKeygen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "k")
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"keygen", path}, &out, &errs); code != 0 {
		t.Fatalf("keygen = %d: %s", code, errs.String())
	}
	wantMode(t, path, 0o600)
	k, err := seal.ReadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), k.ID()) {
		t.Errorf("keygen printed %q, want the key's id %s", out.String(), k.ID())
	}
	if code := run(context.Background(), []string{"keygen", path}, io.Discard, &errs); code != 1 {
		t.Fatalf("keygen over an existing file = %d, want 1", code)
	}
	if again, _ := seal.ReadKeyFile(path); again.ID() != k.ID() {
		t.Fatal("keygen replaced a key")
	}
}

// TestRekeyCommand rotates the key of a SQLite store with hookd rekey.
func TestRekeyCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	oldKey := mustKeyFile(t, filepath.Join(data, keyFileName)) // the generated one
	newPath := filepath.Join(dir, "new.key")
	newKey := mustKeyFile(t, newPath)
	ring := func(k ...*seal.Key) *seal.Keyring {
		kr, err := seal.NewKeyring(k[0], k[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	dbPath := filepath.Join(data, "hookd.db")
	db, err := sqlite.Open(ctx, dbPath, sqlstore.WithKeys(ring(oldKey)))
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateTenant(ctx, &hookd.Tenant{ID: "a", Name: "A"}))
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.URL, w.EventTypes = "a", "https://example.com/h", []string{"*"}
	w.Secrets = []hookd.Secret{{Value: "whsec_cmVrZXlyZWtleXJla2V5", CreatedAt: time.Now()}}
	must(db.CreateWebhook(ctx, w))
	must(db.Close())

	rekeyArgs := []string{"rekey", "--data-dir", data, "--encryption-key-file", newPath,
		"--previous-encryption-key-file", filepath.Join(data, keyFileName)}
	var out, errs bytes.Buffer
	if code := run(ctx, rekeyArgs, &out, &errs); code != 0 {
		t.Fatalf("rekey = %d: %s", code, errs.String())
	}
	if s := out.String(); !strings.Contains(s, newKey.ID()) || !strings.Contains(s, "1 rewritten") {
		t.Errorf("rekey printed %q", s)
	}
	out.Reset()
	if code := run(ctx, rekeyArgs, &out, &errs); code != 0 || !strings.Contains(out.String(), "0 rewritten") {
		t.Fatalf("second rekey = %d: %s%s", code, out.String(), errs.String())
	}
	// The new key alone reads the secrets; the old one alone is refused.
	db, err = sqlite.Open(ctx, dbPath, sqlstore.WithKeys(ring(newKey)))
	must(err)
	got, err := db.GetWebhook(ctx, "a", w.ID)
	must(err)
	if len(got.Secrets) != 1 || got.Secrets[0].Value != w.Secrets[0].Value {
		t.Fatalf("secrets after rekey: %+v", got.Secrets)
	}
	must(db.Close())
	errs.Reset()
	if code := run(ctx, []string{"rekey", "--data-dir", data}, io.Discard, &errs); code != 1 ||
		!strings.Contains(errs.String(), newKey.ID()) {
		t.Fatalf("rekey with the old key alone = %d: %s", code, errs.String())
	}
}
