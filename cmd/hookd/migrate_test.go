package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// hookd migrate applies the migrations of a new store and says which, and
// says so when there is nothing left to apply, on either store; it needs
// no encryption key.
func TestMigrate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"--data-dir", t.TempDir()} }},
		{"postgres", func(t *testing.T) []string { return []string{"--db", pgtest.FreshURL(t)} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"migrate"}, tt.args(t)...)
			var stdout, stderr strings.Builder
			if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit status %d; stderr %q", code, stderr.String())
			}
			if out := stdout.String(); !strings.Contains(out, "applied 0001_init.sql, ") || !strings.Contains(out, " is at version ") {
				t.Errorf("first run said %q, want the migrations applied", out)
			}
			stdout.Reset()
			if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit status %d; stderr %q", code, stderr.String())
			}
			if out := stdout.String(); !strings.Contains(out, "is up to date at version") {
				t.Errorf("second run said %q, want nothing applied", out)
			}
		})
	}
}

// The data directory of a SQLite store is created, and its file holds the
// schema afterwards: serve opens it without applying anything.
func TestMigrateSQLiteFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new")
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"migrate", "--data-dir", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr %q", code, stderr.String())
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM schema_version").Scan(&n); err != nil || n == 0 {
		t.Errorf("schema_version rows: %d, %v", n, err)
	}
}
