package client

import (
	"context"
	"iter"
	"time"
)

// Scope is a permission an API key holds inside its tenant.
type Scope string

// The scopes. ScopeAdmin implies every other one (and managing keys).
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

// Scopes lists every scope.
var Scopes = []Scope{ScopeWebhooksList, ScopeWebhooksRead, ScopeWebhooksWrite,
	ScopeEventsRead, ScopeEventsWrite, ScopeMessagesRead, ScopeMessagesWrite, ScopeAdmin}

// APIKey is a tenant's credential.
type APIKey struct {
	ID       string  `json:"id"`
	TenantID string  `json:"tenant_id"`
	Name     string  `json:"name"`
	Scopes   []Scope `json:"scopes"`
	// Prefix is the token's first characters, to recognise it later.
	Prefix string `json:"prefix"`
	// Token is the bearer token, set only in Create's answer: the server
	// keeps only its hash.
	Token     string    `json:"token,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// LastUsedAt is nil until the key is first used; it may lag the
	// latest use by up to a minute.
	LastUsedAt *time.Time `json:"last_used_at"`
}

// KeyInput creates an API key.
type KeyInput struct {
	// Name is optional, up to 255 characters.
	Name string `json:"name,omitempty"`
	// Scopes are required: one or more.
	Scopes []Scope `json:"scopes"`
}

// KeysService manages a tenant's API keys: /v1/tenants/{tenant}/keys.
// Every call needs the root token or a key with ScopeAdmin.
type KeysService struct{ c *Client }

// Create creates an API key; its Token is in this answer only.
func (s *KeysService) Create(ctx context.Context, tenant string, in *KeyInput) (*APIKey, error) {
	if in == nil {
		in = &KeyInput{}
	}
	var k APIKey
	err := s.c.call(ctx, request{method: "POST", path: tenantPath(tenant, "keys"), body: in}, &k)
	return ret(&k, err)
}

// List returns one page of the tenant's keys (without tokens).
func (s *KeysService) List(ctx context.Context, tenant string, opts *ListOptions) (*Page[APIKey], error) {
	var p Page[APIKey]
	err := s.c.call(ctx, request{method: "GET", path: tenantPath(tenant, "keys"), query: opts.values(nil), idempotent: true}, &p)
	return ret(&p, err)
}

// All iterates over every key of the tenant, from opts' cursor on.
func (s *KeysService) All(ctx context.Context, tenant string, opts *ListOptions) iter.Seq2[*APIKey, error] {
	return all(ctx, cursorOf(opts), func(ctx context.Context, cursor string) (*Page[APIKey], error) {
		return s.List(ctx, tenant, withCursor(opts, cursor))
	})
}

// Delete revokes a key.
func (s *KeysService) Delete(ctx context.Context, tenant, id string) error {
	return s.c.call(ctx, request{method: "DELETE", path: tenantPath(tenant, "keys", id), idempotent: true}, nil)
}
