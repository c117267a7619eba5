// Package seal encrypts short secrets for storage (AES-256-GCM under a
// master key) in a text form the stores keep in place of the plain value:
//
//	enc:v1:<key id>:<base64url(nonce | ciphertext | tag)>
//
// The prefix tells a sealed value from a legacy plain one (plain JSON
// never starts with "enc:") and names the key that sealed it, so that a
// Keyring holding the current key and previous ones opens values sealed
// before a rotation. The nonce is 96 random bits, fresh for every value.
// The caller's associated data (a row's id and column) is authenticated
// with the value: a sealed value copied to another row does not open.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a master key in bytes (AES-256).
const KeySize = 32

// Prefix starts every sealed value; the version is part of it.
const Prefix = "enc:v1:"

// idLen is the length of a key id: 4 bytes in hex.
const idLen = 8

// nonceSize is GCM's standard nonce size.
const nonceSize = 12

// Key is a master key ready to seal and open.
type Key struct {
	id   string
	aead cipher.AEAD
}

// NewKey returns the key of raw, which must be KeySize bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("an encryption key is %d bytes, not %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return &Key{id: keyID(raw), aead: aead}, nil
}

// NewRandomKey returns a fresh random key and its raw bytes.
func NewRandomKey() (*Key, []byte) {
	raw := make([]byte, KeySize)
	rand.Read(raw) // never fails (crypto/rand panics if the system's source does)
	k, err := NewKey(raw)
	if err != nil {
		panic("seal: " + err.Error()) // the size is right
	}
	return k, raw
}

// keyID derives a key's public name: the first 4 bytes of a SHA-256 of the
// key, domain-separated so that it is no hash of the key used elsewhere.
// It names a key in sealed values and logs and reveals nothing useful
// about it.
func keyID(raw []byte) string {
	h := sha256.New()
	h.Write([]byte("hookd seal key id\x00"))
	h.Write(raw)
	return hex.EncodeToString(h.Sum(nil)[:idLen/2])
}

// ID returns the key's id, as written in the values it seals.
func (k *Key) ID() string { return k.id }

// Errors of Open; each is wrapped with context.
var (
	// ErrUnknownKey: the value was sealed under a key the Keyring does
	// not hold.
	ErrUnknownKey = errors.New("sealed under a key not given")
	// ErrAuth: the value does not open: altered, or sealed for other
	// associated data (another row), or under another key of the same id.
	ErrAuth = errors.New("does not authenticate")
	// ErrFormat: the value is not a sealed value of this version.
	ErrFormat = errors.New("not a sealed value")
)

// Keyring seals under its current key and opens values sealed under the
// current key or any previous one. It is safe for concurrent use.
type Keyring struct {
	current *Key
	byID    map[string]*Key
}

// NewKeyring returns a keyring sealing under current and opening with
// current and previous. A previous key equal to current is ignored; two
// different keys with the same id (a 1 in 2^32 chance) are refused.
func NewKeyring(current *Key, previous ...*Key) (*Keyring, error) {
	if current == nil {
		return nil, errors.New("keyring: no current key")
	}
	r := &Keyring{current: current, byID: map[string]*Key{current.id: current}}
	for _, p := range previous {
		if p == nil {
			continue
		}
		if old, ok := r.byID[p.id]; ok {
			if sameKey(old, p) {
				continue
			}
			return nil, fmt.Errorf("keyring: two different keys have the id %s; generate another key", p.id)
		}
		r.byID[p.id] = p
	}
	return r, nil
}

// sameKey reports whether a and b are the same key: the id is a hash of
// the key, so equal ids almost always mean equal keys; a test seal tells
// the rare collision apart.
func sameKey(a, b *Key) bool {
	nonce := make([]byte, nonceSize)
	ct := a.aead.Seal(nil, nonce, nil, nil)
	_, err := b.aead.Open(nil, nonce, ct, nil)
	return err == nil
}

// Has reports whether the keyring holds the key of that id.
func (r *Keyring) Has(id string) bool { _, ok := r.byID[id]; return ok }

// Current returns the key new values are sealed under.
func (r *Keyring) Current() *Key { return r.current }

// Seal returns plain sealed under the current key, bound to ad.
func (r *Keyring) Seal(plain, ad []byte) string {
	k := r.current
	buf := make([]byte, nonceSize, nonceSize+len(plain)+k.aead.Overhead())
	rand.Read(buf) // never fails, see NewRandomKey
	buf = k.aead.Seal(buf, buf[:nonceSize], plain, ad)
	var sb strings.Builder
	sb.Grow(len(Prefix) + idLen + 1 + base64.RawURLEncoding.EncodedLen(len(buf)))
	sb.WriteString(Prefix)
	sb.WriteString(k.id)
	sb.WriteByte(':')
	sb.WriteString(base64.RawURLEncoding.EncodeToString(buf))
	return sb.String()
}

// Open returns the plain value of a sealed text, checking that it was
// sealed for ad. Errors wrap ErrFormat, ErrUnknownKey or ErrAuth.
func (r *Keyring) Open(text string, ad []byte) ([]byte, error) {
	id, body, err := split(text)
	if err != nil {
		return nil, err
	}
	k, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("key %s: %w", id, ErrUnknownKey)
	}
	buf, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(buf) < nonceSize+k.aead.Overhead() {
		return nil, fmt.Errorf("bad body: %w", ErrFormat)
	}
	plain, err := k.aead.Open(nil, buf[:nonceSize], buf[nonceSize:], ad)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", id, ErrAuth)
	}
	return plain, nil
}

// IsSealed reports whether text is a sealed value (of any key).
func IsSealed(text string) bool { return strings.HasPrefix(text, Prefix) }

// KeyIDOf returns the id of the key that sealed text; ok is false for a
// text that is not sealed.
func KeyIDOf(text string) (id string, ok bool) {
	id, _, err := split(text)
	return id, err == nil
}

// split returns the key id and the base64 body of a sealed text.
func split(text string) (id, body string, err error) {
	rest, ok := strings.CutPrefix(text, Prefix)
	if !ok || len(rest) < idLen+1 || rest[idLen] != ':' {
		return "", "", ErrFormat
	}
	return rest[:idLen], rest[idLen+1:], nil
}
