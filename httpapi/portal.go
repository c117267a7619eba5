package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Portal links: one-use links to the dashboard (package ui) for a
// platform's own customers, limited to one tenant.

// Portal link limits: a link must be used within 1 minute to 7 days (Svix
// allows 1 h to 7 d; a platform that opens the link at once wants it short).
const (
	DefaultPortalLinkTTL = 15 * time.Minute
	MinPortalLinkTTL     = time.Minute
	MaxPortalLinkTTL     = 7 * 24 * time.Hour
	// DefaultPortalSessionTTL is how long the session a link opens lasts
	// when Server.PortalSessionTTL is 0.
	DefaultPortalSessionTTL = 8 * time.Hour
)

type portalLinkView struct {
	URL       string    `json:"url"`
	ReadOnly  bool      `json:"read_only"`
	ExpiresAt time.Time `json:"expires_at"`
}

// baseURL is the origin links point at: PublicURL, else the request's own
// (https unless it came in plain and --dev made that normal).
func (s *Server) baseURL(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

func (s *Server) createPortalLink(w http.ResponseWriter, r *http.Request, c *call) error {
	links, ok := s.Store.(hookd.SessionStore)
	if !ok {
		return hookd.Errorf(hookd.EUNAVAILABLE, "this store keeps no portal links")
	}
	o, err := s.readObject(w, r, defaultBodyLimit, false)
	if err != nil {
		return err
	}
	var readOnly bool
	o.boolean("read_only", &readOnly)
	ttl := hookd.Duration(DefaultPortalLinkTTL)
	if o.duration("expires_in", &ttl) && (time.Duration(ttl) < MinPortalLinkTTL || time.Duration(ttl) > MaxPortalLinkTTL) {
		o.add("expires_in", "must be between %s and %s", formatDuration(MinPortalLinkTTL), formatDuration(MaxPortalLinkTTL))
	}
	o.unknown()
	if err := o.err(); err != nil {
		return err
	}
	now := s.now()
	session := s.PortalSessionTTL
	if session <= 0 {
		session = DefaultPortalSessionTTL
	}
	token := hookd.NewToken()
	l := &hookd.PortalLink{TokenHash: hookd.HashToken(token), TenantID: c.tenant, ReadOnly: readOnly,
		SessionTTL: session, CreatedAt: now, ExpiresAt: now.Add(time.Duration(ttl)).Truncate(time.Millisecond)}
	if err := links.CreatePortalLink(r.Context(), l); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, portalLinkView{URL: s.baseURL(r) + "/ui/portal/" + token,
		ReadOnly: readOnly, ExpiresAt: l.ExpiresAt.UTC()})
	return nil
}

// DecodeWebhook reads a webhook's JSON body as the API's create (old nil)
// or PUT (old the stored webhook) reads it, with the same rules and the
// same messages for every invalid field (one EINVALID error), so that the
// dashboard's forms say exactly what the API would. targets checks the URL
// as Server.Targets does; types, when not nil, is where the tenant's event
// type catalogue is read, against which the event types are checked as
// the API checks them. The result has no secrets; on PUT it keeps old's
// id, times, suspension and unexpired secrets.
func DecodeWebhook(ctx context.Context, targets hookd.TargetChecker, types hookd.EventTypeStore, tenantID string,
	body []byte, old *hookd.Webhook, now time.Time) (*hookd.Webhook, error) {
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	o := newObj(m, "")
	o.invalidUTF8(body)
	wh := hookd.NewWebhookDefaults()
	wh.TenantID = tenantID
	mode := modeCreate
	var kept []string
	if old != nil {
		kept = old.EventTypes
		mode = modePut
		wh.ID, wh.TenantID, wh.CreatedAt, wh.UpdatedAt = old.ID, old.TenantID, old.CreatedAt, old.UpdatedAt
		wh.Suspended, wh.SuspendedAt, wh.FailingSince = old.Suspended, old.SuspendedAt, old.FailingSince
		wh.Secrets = hookd.ActiveSecrets(old.Secrets, now)
	}
	s := &Server{Targets: targets, types: types}
	if _, err := s.validateWebhook(ctx, o, wh, mode, now, kept); err != nil {
		return nil, err
	}
	return wh, nil
}

// RotateSecrets returns a webhook's secrets after a rotation at now, as the
// API's rotate does: secret (a new one when empty) first, the previous one
// signing on for hookd.SecretRotationOverlap.
func RotateSecrets(old []hookd.Secret, secret string, now time.Time) []hookd.Secret {
	if secret == "" {
		secret = hookd.NewSecret()
	}
	next := []hookd.Secret{{Value: secret, CreatedAt: now}}
	if prev := hookd.ActiveSecrets(old, now); len(prev) > 0 && prev[0].Value != secret {
		p := prev[0]
		exp := now.Add(hookd.SecretRotationOverlap)
		if p.ExpiresAt == nil || p.ExpiresAt.After(exp) {
			p.ExpiresAt = &exp
		}
		next = append(next, p)
	}
	return next
}
