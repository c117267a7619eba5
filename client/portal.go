package client

import (
	"context"
	"time"
)

// PortalLinkInput asks for a portal link; both fields are optional.
type PortalLinkInput struct {
	// ReadOnly limits the session to reading.
	ReadOnly bool `json:"read_only,omitempty"`
	// ExpiresIn is how long the link may be used, 1m..168h (0: the
	// server's default, 15m).
	ExpiresIn Duration `json:"expires_in,omitzero"`
}

// PortalLink is a one-use link to the dashboard, limited to one tenant.
type PortalLink struct {
	// URL opens the session; it is in this answer only.
	URL      string `json:"url"`
	ReadOnly bool   `json:"read_only"`
	// ExpiresAt is when the link stops working if unused.
	ExpiresAt time.Time `json:"expires_at"`
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
