package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/hookd/hookd/internal/seal"
)

// keyFileName is the generated key's name in the data directory.
const keyFileName = "encryption-key"

// keyFlags defines the flags of the master key, for serve and rekey.
func keyFlags(fs *flag.FlagSet, current, previous *string) {
	fs.StringVar(current, "encryption-key-file", "", "file holding the 32-byte key that encrypts webhook secrets and auth credentials "+
		"(base64 or raw); if unset, <data-dir>/"+keyFileName+", generated there on first start with sqlite://; "+
		"required with postgres:// (every process must share the key)")
	fs.StringVar(previous, "previous-encryption-key-file", "", "file holding the key before a rotation: secrets it encrypted "+
		"are still read (hookd rekey rewrites them under the current key)")
}

// keySource is where the keys come from: the flags, and the store they
// are for.
type keySource struct {
	DB, DataDir       string
	Current, Previous string // key files; Current "": the data directory's
	Generate          bool   // Current "" and none in the data directory: create one (serve on SQLite)
}

// isPostgres reports whether a --db URL names a PostgreSQL store.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// loadKeys returns the keyring of src; generated is the path of a key it
// created ("" if none). With PostgreSQL a key file must be given: a key
// generated into one process's data directory would differ from the other
// processes' keys, and each would seal secrets the others cannot read.
func loadKeys(src keySource) (kr *seal.Keyring, generated string, err error) {
	var cur *seal.Key
	switch {
	case src.Current != "":
		cur, err = seal.ReadKeyFile(src.Current)
	case isPostgres(src.DB):
		return nil, "", errors.New("with a PostgreSQL store every hookd process must use the same encryption key: " +
			"create one with `hookd keygen <file>` and give it to every process with --encryption-key-file " +
			"(or HOOKD_ENCRYPTION_KEY_FILE)")
	default:
		cur, generated, err = dataDirKey(src.DataDir, src.Generate)
	}
	if err != nil {
		return nil, "", err
	}
	var prev *seal.Key
	if src.Previous != "" {
		if prev, err = seal.ReadKeyFile(src.Previous); err != nil {
			return nil, "", err
		}
	}
	kr, err = seal.NewKeyring(cur, prev)
	return kr, generated, err
}

// dataDirKey reads the key in the data directory, or creates it there
// (mode 0600) when generate is set and there is none.
func dataDirKey(dataDir string, generate bool) (*seal.Key, string, error) {
	path := filepath.Join(dataDir, keyFileName)
	k, err := seal.ReadKeyFile(path)
	if !errors.Is(err, os.ErrNotExist) {
		return k, "", err
	}
	if !generate {
		return nil, "", fmt.Errorf("no encryption key in %s: give --encryption-key-file", path)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("create data dir: %w", err)
	}
	k, err = seal.CreateKeyFile(path)
	if errors.Is(err, os.ErrExist) { // another process created it first
		k, err = seal.ReadKeyFile(path)
		return k, "", err
	}
	if err != nil {
		return nil, "", err
	}
	return k, path, nil
}

// warnOpenKeyFiles logs key files that others than their owner may read.
func warnOpenKeyFiles(logger *slog.Logger, paths ...string) {
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			logger.Warn("the encryption key file is readable by others than its owner; chmod 600 it", "path", p,
				"mode", fi.Mode().Perm().String())
		}
	}
}

const keygenUsage = `Usage: hookd keygen <file>

Writes a new random encryption key (32 bytes, base64) to <file>, mode 0600;
an existing file is never replaced. Give it to hookd with
--encryption-key-file; every process sharing a PostgreSQL store needs the
same key.
`

// keygen is `hookd keygen <file>`.
func keygen(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprint(stdout, keygenUsage)
		return 0
	}
	if len(args) != 1 {
		fmt.Fprint(stderr, keygenUsage)
		return 2
	}
	k, err := seal.CreateKeyFile(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "hookd keygen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "hookd: wrote encryption key %s to %s\n", k.ID(), args[0])
	return 0
}
