package seal_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/seal"
)

func mustKey(t *testing.T, fill byte) *seal.Key {
	t.Helper()
	k, err := seal.NewKey(bytes.Repeat([]byte{fill}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRing(t *testing.T, cur *seal.Key, prev ...*seal.Key) *seal.Keyring {
	t.Helper()
	r, err := seal.NewKeyring(cur, prev...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	a, b, c := mustKey(t, 1), mustKey(t, 2), mustKey(t, 3)
	plain := []byte(`[{"value":"whsec_c2VjcmV0"}]`)
	ad := []byte("webhooks/wh_1/secrets")
	sealedA := mustRing(t, a).Seal(plain, ad)
	// flip changes one character of the base64 body.
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, tc := range []struct {
		name string
		ring *seal.Keyring
		text string
		ad   string
		want error // nil: opens to plain
	}{
		{"same key", mustRing(t, a), sealedA, string(ad), nil},
		{"as a previous key", mustRing(t, b, a), sealedA, string(ad), nil},
		{"among several previous keys", mustRing(t, c, b, a), sealedA, string(ad), nil},
		{"key not given", mustRing(t, b), sealedA, string(ad), seal.ErrUnknownKey},
		{"another row", mustRing(t, a), sealedA, "webhooks/wh_2/secrets", seal.ErrAuth},
		{"another column", mustRing(t, a), sealedA, "webhooks/wh_1/auth", seal.ErrAuth},
		{"tampered at the start", mustRing(t, a), flip(sealedA, len(seal.Prefix)+9), string(ad), seal.ErrAuth},
		{"tampered at the end", mustRing(t, a), flip(sealedA, len(sealedA)-2), string(ad), seal.ErrAuth},
		{"truncated", mustRing(t, a), sealedA[:len(sealedA)-4], string(ad), seal.ErrAuth},
		{"too short", mustRing(t, a), sealedA[:len(seal.Prefix)+12], string(ad), seal.ErrFormat},
		{"key id of another key", mustRing(t, a, b), strings.Replace(sealedA, a.ID(), b.ID(), 1), string(ad), seal.ErrAuth},
		{"plain JSON", mustRing(t, a), string(plain), string(ad), seal.ErrFormat},
		{"other version", mustRing(t, a), strings.Replace(sealedA, "enc:v1:", "enc:v2:", 1), string(ad), seal.ErrFormat},
		{"no body separator", mustRing(t, a), seal.Prefix + a.ID(), string(ad), seal.ErrFormat},
		{"bad base64", mustRing(t, a), seal.Prefix + a.ID() + ":!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", string(ad), seal.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ring.Open(tc.text, []byte(tc.ad))
			if tc.want == nil {
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("Open = %q, %v; want %q", got, err, plain)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %q, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestSealForm(t *testing.T) {
	t.Parallel()
	k := mustKey(t, 1)
	r := mustRing(t, k, mustKey(t, 2))
	plain := []byte("s3cr3t-password")
	s1, s2 := r.Seal(plain, nil), r.Seal(plain, nil)
	if s1 == s2 {
		t.Fatalf("two seals of one value are equal: the nonce is not fresh")
	}
	if !strings.HasPrefix(s1, "enc:v1:"+k.ID()+":") || !seal.IsSealed(s1) {
		t.Fatalf("sealed form %q", s1)
	}
	if strings.Contains(s1, string(plain)) || strings.Contains(s1, base64.RawURLEncoding.EncodeToString(plain)) {
		t.Fatalf("sealed form %q shows the value", s1)
	}
	if id, ok := seal.KeyIDOf(s1); !ok || id != k.ID() {
		t.Fatalf("KeyIDOf = %q, %v; want %q", id, ok, k.ID())
	}
	for _, plainJSON := range []string{"[]", "null", `{"type":"basic"}`} {
		if seal.IsSealed(plainJSON) {
			t.Errorf("IsSealed(%q)", plainJSON)
		}
		if _, ok := seal.KeyIDOf(plainJSON); ok {
			t.Errorf("KeyIDOf(%q) ok", plainJSON)
		}
	}
	if got, err := r.Open(r.Seal(nil, []byte("x")), []byte("x")); err != nil || len(got) != 0 {
		t.Fatalf("empty value: %q, %v", got, err)
	}
	if r.Current() != k {
		t.Fatalf("Current is not the key given first")
	}
	if mustKey(t, 1).ID() != k.ID() || mustKey(t, 2).ID() == k.ID() || len(k.ID()) != 8 {
		t.Fatalf("key ids: %s, %s, %s", k.ID(), mustKey(t, 1).ID(), mustKey(t, 2).ID())
	}
}

func TestNewKeyring(t *testing.T) {
	t.Parallel()
	a := mustKey(t, 1)
	if _, err := seal.NewKeyring(nil); err == nil {
		t.Error("a keyring without a current key")
	}
	// The same key given as previous too (the operator kept both flags
	// after a rekey) is no error.
	if _, err := seal.NewKeyring(a, mustKey(t, 1), nil); err != nil {
		t.Errorf("the current key again as previous: %v", err)
	}
	if _, err := seal.NewKey(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key")
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{0xa5}, seal.KeySize)
	b64 := base64.StdEncoding.EncodeToString(raw)
	spacey := append(append([]byte(" \n"), raw[:29]...), ' ') // 32 raw bytes, some of them white space
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte // nil: an error
	}{
		{"base64 with newline", []byte(b64 + "\n"), raw},
		{"base64 in white space", []byte("  " + b64 + "\r\n"), raw},
		{"base64 without padding", []byte(strings.TrimRight(b64, "=")), raw},
		{"base64url", []byte(base64.URLEncoding.EncodeToString(raw)), raw},
		{"raw", raw, raw},
		{"raw with white space bytes", spacey, spacey},
		{"base64 of 16 bytes", []byte(base64.StdEncoding.EncodeToString(raw[:16])), nil},
		{"31 raw bytes", raw[:31], nil},
		{"33 raw bytes", append(raw, 1), nil},
		{"empty", nil, nil},
		{"text", []byte("correct horse battery staple"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := seal.ParseKey(tc.in)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("ParseKey = %x, want an error", got)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("ParseKey = %x, %v; want %x", got, err, tc.want)
			}
		})
	}
}

func TestCreateKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "encryption-key")
	k, err := seal.CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode %v, want 0600", got)
	}
	b, _ := os.ReadFile(path)
	if len(b) != 45 || b[44] != '\n' {
		t.Errorf("key file %q: want 44 base64 characters and a newline", b)
	}
	read, err := seal.ReadKeyFile(path)
	if err != nil || read.ID() != k.ID() {
		t.Fatalf("ReadKeyFile = %v, %v; want key %s", read, err, k.ID())
	}
	// Never replaced: a second start finds the first key.
	if _, err := seal.CreateKeyFile(path); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second CreateKeyFile: %v, want ErrExist", err)
	}
	if again, _ := seal.ReadKeyFile(path); again.ID() != k.ID() {
		t.Fatalf("key file replaced")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left beside the key: %v", ents)
	}
	if _, err := seal.ReadKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing key file: %v", err)
	}
}

// BenchmarkOpen opens a webhook's secrets as stored: two signing secrets in
// JSON, the size a Claim or Publish opens per webhook.
func BenchmarkOpen(b *testing.B) {
	k, _ := seal.NewRandomKey()
	r, _ := seal.NewKeyring(k)
	plain := []byte(`[{"value":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","created_at":"2026-01-02T03:04:05Z"},` +
		`{"value":"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD","created_at":"2026-01-01T03:04:05Z","expires_at":"2026-01-03T03:04:05Z"}]`)
	ad := []byte("hookd/webhooks/wh_01m8ye4sbq6sbs06h8dm13hbh3/secrets")
	sealed := r.Seal(plain, ad)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Open(sealed, ad); err != nil {
			b.Fatal(err)
		}
	}
}
