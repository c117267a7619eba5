package hookd

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"time"
)

// Tenant is one customer of the platform; every webhook, event, message and
// API key belongs to exactly one tenant.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// TenantIDPattern is the syntax of a tenant id.
var TenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Scope is a permission an API key may hold inside its tenant.
type Scope string

// The scopes of the contract. ScopeAdmin implies every other one.
const (
	ScopeWebhooksList  Scope = "webhooks:list"
	ScopeWebhooksRead  Scope = "webhooks:read"
	ScopeWebhooksWrite Scope = "webhooks:write"
	ScopeEventsRead    Scope = "events:read"
	ScopeEventsWrite   Scope = "events:write"
	ScopeMessagesRead  Scope = "messages:read"
	ScopeMessagesWrite Scope = "messages:write"
	ScopeAdmin         Scope = "admin"
)

// Scopes lists every valid scope.
var Scopes = []Scope{ScopeWebhooksList, ScopeWebhooksRead, ScopeWebhooksWrite,
	ScopeEventsRead, ScopeEventsWrite, ScopeMessagesRead, ScopeMessagesWrite, ScopeAdmin}

// ValidScope reports whether s names a scope.
func ValidScope(s string) bool {
	for _, v := range Scopes {
		if string(v) == s {
			return true
		}
	}
	return false
}

// APIKey is a tenant's credential. The token itself is shown once, at
// creation; only its SHA-256 hash is stored.
type APIKey struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Name       string     `json:"name"`
	Scopes     []Scope    `json:"scopes"`
	TokenHash  string     `json:"-"`
	Prefix     string     `json:"prefix"` // first characters of the token, to recognise it
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// Allows reports whether the key holds scope (admin holds them all).
func (k *APIKey) Allows(scope Scope) bool {
	for _, s := range k.Scopes {
		if s == scope || s == ScopeAdmin {
			return true
		}
	}
	return false
}

// NewToken returns a new random API token ("hk_" + 43 base64url characters,
// 256 bits of entropy).
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("hookd: crypto/rand failed: " + err.Error())
	}
	return "hk_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken returns the hex SHA-256 of a token, the form in which tokens are
// stored and looked up. Tokens carry 256 random bits, so a fast hash is
// enough: there is nothing to brute-force.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
