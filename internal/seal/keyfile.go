package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// A key file holds a key in base64 (standard alphabet, 44 characters with
// padding, as `openssl rand -base64 32` writes it), surrounding white space
// ignored; a file of exactly KeySize bytes that is not that is read as the
// raw key (`openssl rand 32`). CreateKeyFile writes base64 and a newline.

// ReadKeyFile reads the key in the file at path.
func ReadKeyFile(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read encryption key: %w", err)
	}
	raw, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("encryption key file %s: %w", path, err)
	}
	return NewKey(raw)
}

// ParseKey returns the raw key of a key file's contents.
func ParseKey(b []byte) ([]byte, error) {
	t := bytes.TrimSpace(b)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(string(t)); err == nil && len(raw) == KeySize {
			return raw, nil
		}
	}
	if len(b) == KeySize {
		return append([]byte(nil), b...), nil
	}
	return nil, fmt.Errorf("want %d bytes in base64 (e.g. from `openssl rand -base64 %d`) or raw", KeySize, KeySize)
}

// CreateKeyFile generates a random key into a new file at path, mode
// 0600, and returns it. It never replaces a file: when path exists
// (another process created it first) it returns an error that
// errors.Is(err, os.ErrExist). The key is written to a temporary file
// beside path and linked into place, so that path never holds a partial
// key, even after a crash.
func CreateKeyFile(path string) (*Key, error) {
	k, raw := NewRandomKey()
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".encryption-key-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("create encryption key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write encryption key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create encryption key %s: %w", path, os.ErrExist)
		}
		return nil, fmt.Errorf("create encryption key: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the new name survives a crash
		d.Close()
	}
	return k, nil
}
