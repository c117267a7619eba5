// Package access decides who may do what, once for the REST API and the
// dashboard: it finds the caller of a token (the root token or an API key)
// and names the scopes each operation needs, so that a dashboard session
// is allowed exactly what its key is allowed through the API.
package access

import (
	"context"
	"crypto/subtle"
	"strings"

	"github.com/hookd/hookd"
)

// Caller is who makes a request: the root token, or a credential of one
// tenant (an API key, or a dashboard portal session) with its scopes.
type Caller struct {
	Root     bool
	TenantID string
	Scopes   []hookd.Scope
	// Key is the API key presented, nil for the root token and portal
	// sessions.
	Key *hookd.APIKey
}

// Allows reports whether the caller holds scope (root and admin hold every
// scope).
func (c *Caller) Allows(scope hookd.Scope) bool {
	if c.Root {
		return true
	}
	for _, s := range c.Scopes {
		if s == scope || s == hookd.ScopeAdmin {
			return true
		}
	}
	return false
}

// Need is what an operation on a tenant's resources requires: any one of
// its scopes.
type Need []hookd.Scope

// The operations of the API and the dashboard, and what each needs.
var (
	ManageKeys      = Need{hookd.ScopeAdmin}
	PortalLinks     = Need{hookd.ScopeAdmin}
	ListWebhooks    = Need{hookd.ScopeWebhooksList}
	ReadWebhooks    = Need{hookd.ScopeWebhooksRead}
	WriteWebhooks   = Need{hookd.ScopeWebhooksWrite}
	RecoverMessages = Need{hookd.ScopeWebhooksWrite, hookd.ScopeMessagesWrite}
	PublishEvents   = Need{hookd.ScopeEventsWrite}
	ReadEvents      = Need{hookd.ScopeEventsRead}
	ReadMessages    = Need{hookd.ScopeMessagesRead}
	WriteMessages   = Need{hookd.ScopeMessagesWrite}
	// ReadEventTypes: whoever publishes or subscribes needs to know the
	// tenant's event types; WriteEventTypes: the catalogue governs what
	// every key of the tenant may publish and subscribe to.
	ReadEventTypes  = Need{hookd.ScopeEventsRead, hookd.ScopeWebhooksRead}
	WriteEventTypes = Need{hookd.ScopeAdmin}
)

// May reports whether the caller holds any scope of need; it says nothing
// of the tenant (see Check).
func (c *Caller) May(need Need) bool {
	for _, s := range need {
		if c.Allows(s) {
			return true
		}
	}
	return false
}

// Check returns nil when the caller may do need in tenant; ENOTFOUND when
// the tenant is not the caller's (checked first, so that a key never
// learns whether another tenant exists); EFORBIDDEN when a scope is
// missing. Whether the tenant exists is the caller's to check for root.
func (c *Caller) Check(tenant string, need Need) error {
	if !c.Root && c.TenantID != tenant {
		return hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
	}
	if c.May(need) {
		return nil
	}
	names := make([]string, len(need))
	for i, sc := range need {
		names[i] = string(sc)
	}
	if len(names) < 2 {
		return hookd.Errorf(hookd.EFORBIDDEN, "the token lacks the scope %s", strings.Join(names, ""))
	}
	// "or" is a word of the message, not of an argument: the catalogue
	// renders it in the client's language.
	last := len(names) - 1
	return hookd.Errorf(hookd.EFORBIDDEN, "the token lacks the scope %s or %s", strings.Join(names[:last], ", "), names[last])
}

// PortalScopes are what a portal session may do: its tenant's webhooks and
// messages, never its API keys or publishing; read-only, only reading.
func PortalScopes(readOnly bool) []hookd.Scope {
	if readOnly {
		return []hookd.Scope{hookd.ScopeWebhooksList, hookd.ScopeWebhooksRead, hookd.ScopeEventsRead, hookd.ScopeMessagesRead}
	}
	return []hookd.Scope{hookd.ScopeWebhooksList, hookd.ScopeWebhooksRead, hookd.ScopeWebhooksWrite,
		hookd.ScopeEventsRead, hookd.ScopeMessagesRead, hookd.ScopeMessagesWrite}
}

// KeyFinder finds API keys by token hash (hookd.Store does).
type KeyFinder interface {
	FindAPIKey(ctx context.Context, hash string) (*hookd.APIKey, error)
}

// Authenticator finds the caller of a token.
type Authenticator struct {
	Keys KeyFinder
	// RootTokenHash is hookd.HashToken of the root token; empty disables
	// the root token.
	RootTokenHash string
}

// IsRoot reports whether hash is the root token's hash, in constant time.
func (a *Authenticator) IsRoot(hash string) bool {
	return a.RootTokenHash != "" && subtle.ConstantTimeCompare([]byte(hash), []byte(a.RootTokenHash)) == 1
}

// Hash finds the caller whose token hashes to hash: EUNAUTHORIZED "invalid
// token" when it is neither the root token nor a key's.
func (a *Authenticator) Hash(ctx context.Context, hash string) (*Caller, error) {
	if a.IsRoot(hash) {
		return &Caller{Root: true}, nil
	}
	k, err := a.Keys.FindAPIKey(ctx, hash)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		return nil, hookd.Errorf(hookd.EUNAUTHORIZED, "invalid token")
	} else if err != nil {
		return nil, err
	}
	return &Caller{TenantID: k.TenantID, Scopes: k.Scopes, Key: k}, nil
}

// Token finds the caller of token (see Hash).
func (a *Authenticator) Token(ctx context.Context, token string) (*Caller, error) {
	return a.Hash(ctx, hookd.HashToken(token))
}

// KeyPrefixLen is how much of a token a key keeps to be recognised ("hk_"
// and 8 characters).
const KeyPrefixLen = 11

// NewKey returns a new API key of the tenant (id, token hash and prefix
// set) and its token, which is shown once and never stored.
func NewKey(tenantID, name string, scopes []hookd.Scope) (*hookd.APIKey, string) {
	token := hookd.NewToken()
	k := &hookd.APIKey{ID: hookd.NewID(hookd.PrefixKey), TenantID: tenantID, Name: name, Scopes: scopes,
		TokenHash: hookd.HashToken(token), Prefix: token[:KeyPrefixLen]}
	return k, token
}
