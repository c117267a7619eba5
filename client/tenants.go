package client

import (
	"context"
	"iter"
	"time"
)

// Tenant is one customer of the platform; every webhook, event, message and
// API key belongs to one.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// TenantInput creates a tenant.
type TenantInput struct {
	// ID matches ^[a-z0-9][a-z0-9_-]{0,63}$; "" has the server generate
	// one (ten_…).
	ID string `json:"id,omitempty"`
	// Name is optional, up to 255 characters.
	Name string `json:"name,omitempty"`
}

// TenantsService manages tenants: /v1/tenants. Every call needs the root
// token.
type TenantsService struct{ c *Client }

// Create creates a tenant. A tenant with the id already → 409 with
// ExistingID.
func (s *TenantsService) Create(ctx context.Context, in *TenantInput) (*Tenant, error) {
	if in == nil {
		in = &TenantInput{}
	}
	var t Tenant
	err := s.c.call(ctx, request{method: "POST", path: []string{"v1", "tenants"}, body: in}, &t)
	return ret(&t, err)
}

// Get returns a tenant (404 when it does not exist).
func (s *TenantsService) Get(ctx context.Context, id string) (*Tenant, error) {
	var t Tenant
	err := s.c.call(ctx, request{method: "GET", path: tenantPath(id), idempotent: true}, &t)
	return ret(&t, err)
}

// List returns one page of tenants.
func (s *TenantsService) List(ctx context.Context, opts *ListOptions) (*Page[Tenant], error) {
	var p Page[Tenant]
	err := s.c.call(ctx, request{method: "GET", path: []string{"v1", "tenants"}, query: opts.values(nil), idempotent: true}, &p)
	return ret(&p, err)
}

// All iterates over every tenant, page by page, from opts' cursor on.
func (s *TenantsService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Tenant, error] {
	return all(ctx, cursorOf(opts), func(ctx context.Context, cursor string) (*Page[Tenant], error) {
		return s.List(ctx, withCursor(opts, cursor))
	})
}

// Delete deletes a tenant with everything it owns.
func (s *TenantsService) Delete(ctx context.Context, id string) error {
	return s.c.call(ctx, request{method: "DELETE", path: tenantPath(id), idempotent: true}, nil)
}

// ret returns v, or nil with err.
func ret[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}
