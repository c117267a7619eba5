package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/sqlstore"
)

// migrateConfig is what `hookd migrate` is told by flags and environment.
type migrateConfig struct {
	DB, DataDir string
}

// parseMigrateConfig reads migrate's flags and environment; --help goes
// to help (see parseFlags).
func parseMigrateConfig(args []string, getenv func(string) string, help io.Writer) (*migrateConfig, error) {
	c := &migrateConfig{}
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(help)
	fs.StringVar(&c.DB, "db", "", "store URL, as for hookd serve (default sqlite://<data-dir>/hookd.db)")
	fs.StringVar(&c.DataDir, "data-dir", "./hookd-data", "data directory, as for hookd serve")
	if err := parseFlags(fs, args, getenv, "Usage: hookd migrate [flags]\n\n"+
		"Applies the store's migrations that are not applied yet, and serves nothing: an\n"+
		"operator can migrate a PostgreSQL database before rolling out the version that\n"+
		"needs it (hookd serve applies them too when it starts). Each migration is\n"+
		"applied once, in its own transaction, however many processes start at once;\n"+
		"running it again does nothing. It needs no encryption key. Stop the processes of\n"+
		"an older version before you migrate: see the README's PostgreSQL section."); err != nil {
		return nil, err
	}
	if c.DB == "" {
		c.DB = "sqlite://" + filepath.Join(c.DataDir, "hookd.db")
	}
	return c, nil
}

// migrator is what migrate needs of a store: the migrations applied.
type migrator interface {
	AppliedMigrations(ctx context.Context) ([]sqlstore.AppliedMigration, error)
}

// migrate is `hookd migrate`: opening a store applies its migrations;
// migrate reports which were applied by this run.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseMigrateConfig(args, getenv, stdout)
	if errors.Is(err, flagHelp) {
		return 0
	} else if err != nil {
		fmt.Fprintf(stderr, "hookd migrate: %v\nRun 'hookd migrate --help' for the flags.\n", err)
		return 2
	}
	// Migrations applied from now on are this run's (schema_version
	// keeps milliseconds of this machine's clock).
	start := time.Now().Truncate(time.Millisecond)
	// No keys: sealing plain secrets at start is the serving process's
	// work, and migrations never read a secret.
	store, err := openStore(ctx, cfg.DB, nil)
	if err != nil {
		fmt.Fprintf(stderr, "hookd migrate: %s: %v\n", redactDB(cfg.DB), err)
		return 1
	}
	defer store.Close()
	m, ok := store.(migrator)
	if !ok {
		fmt.Fprintf(stderr, "hookd migrate: the store %s cannot list its migrations\n", redactDB(cfg.DB))
		return 1
	}
	applied, err := m.AppliedMigrations(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "hookd migrate: %v\n", err)
		return 1
	}
	if len(applied) == 0 {
		fmt.Fprintf(stderr, "hookd migrate: %s has no migration applied\n", redactDB(cfg.DB))
		return 1
	}
	last := applied[len(applied)-1]
	var now []string
	for _, a := range applied {
		if !a.AppliedAt.Before(start) {
			now = append(now, a.Name)
		}
	}
	switch {
	case len(now) == 0:
		fmt.Fprintf(stdout, "hookd: %s is up to date at version %d (%s); nothing to apply\n", redactDB(cfg.DB), last.Version, last.Name)
	default:
		fmt.Fprintf(stdout, "hookd: applied %s; %s is at version %d\n", strings.Join(now, ", "), redactDB(cfg.DB), last.Version)
	}
	return 0
}
