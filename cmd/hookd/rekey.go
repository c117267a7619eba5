package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
)

// rekeyConfig is what `hookd rekey` is told by flags and environment.
type rekeyConfig struct {
	DB, DataDir                        string
	EncryptionKeyFile, PreviousKeyFile string
	Batch                              int
}

// parseRekeyConfig reads rekey's flags and environment; --help goes to
// help (see parseFlags).
func parseRekeyConfig(args []string, getenv func(string) string, help io.Writer) (*rekeyConfig, error) {
	c := &rekeyConfig{}
	fs := flag.NewFlagSet("rekey", flag.ContinueOnError)
	fs.SetOutput(help)
	fs.StringVar(&c.DB, "db", "", "store URL, as for hookd serve (default sqlite://<data-dir>/hookd.db)")
	fs.StringVar(&c.DataDir, "data-dir", "./hookd-data", "data directory, as for hookd serve")
	keyFlags(fs, &c.EncryptionKeyFile, &c.PreviousKeyFile)
	fs.IntVar(&c.Batch, "batch", 200, "webhooks rewritten per transaction")
	if err := parseFlags(fs, args, getenv, "Usage: hookd rekey [flags]\n\n"+
		"Rewrites the secrets and auth credentials of every webhook under the current\n"+
		"encryption key: those still in plain text, and those encrypted under the\n"+
		"previous key (give it with --previous-encryption-key-file). It may run while\n"+
		"hookd serves with both keys; running it again does nothing."); err != nil {
		return nil, err
	}
	if c.DB == "" {
		c.DB = "sqlite://" + filepath.Join(c.DataDir, "hookd.db")
	}
	if c.Batch < 1 {
		return nil, errors.New("--batch must be positive")
	}
	return c, nil
}

// rekeyer is what rekey needs of a store.
type rekeyer interface {
	Rekey(ctx context.Context, batch int) (int, error)
}

// rekey is `hookd rekey`.
func rekey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseRekeyConfig(args, getenv, stdout)
	if errors.Is(err, flagHelp) {
		return 0
	} else if err != nil {
		fmt.Fprintf(stderr, "hookd rekey: %v\nRun 'hookd rekey --help' for the flags.\n", err)
		return 2
	}
	// Never generates a key: rewriting secrets under a key made up here
	// would leave them unreadable by the hookd that serves them.
	keys, _, err := loadKeys(keySource{DB: cfg.DB, DataDir: cfg.DataDir, Current: cfg.EncryptionKeyFile,
		Previous: cfg.PreviousKeyFile})
	if err != nil {
		fmt.Fprintf(stderr, "hookd rekey: %v\n", err)
		return 1
	}
	// Opening seals what is still plain text; Rekey then rewrites what a
	// previous key sealed.
	store, err := openStore(ctx, cfg.DB, keys)
	if err != nil {
		fmt.Fprintf(stderr, "hookd rekey: open store: %v\n", err)
		return 1
	}
	defer store.Close()
	r, ok := store.(rekeyer)
	if !ok {
		fmt.Fprintf(stderr, "hookd rekey: the store %s cannot rekey\n", redactDB(cfg.DB))
		return 1
	}
	n, err := r.Rekey(ctx, cfg.Batch)
	if err != nil {
		fmt.Fprintf(stderr, "hookd rekey: %v (%d webhooks rewritten before it; run it again once fixed)\n", err, n)
		return 1
	}
	fmt.Fprintf(stdout, "hookd: the secrets of every webhook are encrypted under key %s (%d rewritten)\n",
		keys.Current().ID(), n)
	return 0
}
