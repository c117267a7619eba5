package client

import (
	"context"
	"time"
)

// PortalLinkInput asks for a portal link; every field is optional.
type PortalLinkInput struct {
	// Label says who or what the link is for, shown in lists (at most
	// 255 characters).
	Label string `json:"label,omitempty"`
	// ReadOnly limits the session to reading.
	ReadOnly bool `json:"read_only,omitempty"`
	// ExpiresIn is how long the link may be used, 1m..168h (0: the
	// server's default, 15m).
	ExpiresIn Duration `json:"expires_in,omitzero"`
}

// PortalLink is a one-use link to the dashboard, limited to one tenant.
type PortalLink struct {
	// ID (pl_…) lists and revokes it.
	ID string `json:"id"`
	// URL opens the session; it is in the answer to Create only.
	URL      string `json:"url,omitempty"`
	Label    string `json:"label"`
	ReadOnly bool   `json:"read_only"`
	// CreatedBy is the id of the API key that made it, or "root".
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the link stops working if unused.
	ExpiresAt time.Time `json:"expires_at"`
	// UsedAt is when it opened its session; RevokedAt when it was revoked.
	UsedAt    *time.Time `json:"used_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	// Status is unused, used, expired or revoked.
	Status string `json:"status"`
}

// PortalLinksService makes links to the dashboard for a tenant's own
// people: /v1/tenants/{tenant}/portal-links (scope admin).
type PortalLinksService struct{ c *Client }

// Create makes a portal link. The session it opens may list, read and
// change webhooks, read events and read, retry, abort and resolve messages
// (read-only: only read). A store that keeps no portal links answers 503.
func (s *PortalLinksService) Create(ctx context.Context, tenant string, in *PortalLinkInput) (*PortalLink, error) {
	var l PortalLink
	err := s.c.call(ctx, request{method: "POST", path: tenantPath(tenant, "portal-links"), body: nonNil(in)}, &l)
	return ret(&l, err)
}

// List returns the tenant's newest 200 portal links, newest first, used
// and revoked ones too (their URLs are never shown again). The page has
// no next cursor.
func (s *PortalLinksService) List(ctx context.Context, tenant string) (*Page[PortalLink], error) {
	var p Page[PortalLink]
	err := s.c.call(ctx, request{method: "GET", path: tenantPath(tenant, "portal-links"), idempotent: true}, &p)
	return ret(&p, err)
}

// Revoke makes a link unusable; a link already used also ends the
// session it opened. ENOTFOUND (404) for an id that is not the tenant's.
func (s *PortalLinksService) Revoke(ctx context.Context, tenant, id string) error {
	return s.c.call(ctx, request{method: "DELETE", path: tenantPath(tenant, "portal-links", id), idempotent: true}, nil)
}
