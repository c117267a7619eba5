package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

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

// portalLinkView is a portal link in answers; URL only when it is made
// (the token is not kept).
type portalLinkView struct {
	ID        string     `json:"id"`
	URL       string     `json:"url,omitempty"`
	Label     string     `json:"label"`
	ReadOnly  bool       `json:"read_only"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Status    string     `json:"status"`
}

func viewPortalLink(l *hookd.PortalLink, now time.Time) portalLinkView {
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		return hookd.Ptr(t.UTC())
	}
	return portalLinkView{ID: l.ID, Label: l.Label, ReadOnly: l.ReadOnly, CreatedBy: l.CreatedBy, CreatedAt: l.CreatedAt.UTC(),
		ExpiresAt: l.ExpiresAt.UTC(), UsedAt: utc(l.UsedAt), RevokedAt: utc(l.RevokedAt), Status: l.Status(now)}
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

// CheckPortalLink adds to f what is wrong with a portal link's label and
// time to expiry (the API's rules, for the dashboard's form too).
func CheckPortalLink(label string, expiresIn time.Duration, f *hookd.Fields) {
	if n := utf8.RuneCountInString(label); n > hookd.MaxNameLen {
		f.Add("label", "must be at most %d characters", hookd.MaxNameLen)
	}
	if expiresIn < MinPortalLinkTTL || expiresIn > MaxPortalLinkTTL {
		f.Add("expires_in", "must be between %s and %s", formatDuration(MinPortalLinkTTL), formatDuration(MaxPortalLinkTTL))
	}
}

// NewPortalLink makes a portal link of tenant (not yet stored) and returns
// it with its token, which is shown once and never kept. createdBy is the
// API key's id that makes it, or "root".
func NewPortalLink(tenant, label, createdBy string, readOnly bool, expiresIn, sessionTTL time.Duration, now time.Time) (*hookd.PortalLink, string) {
	if sessionTTL <= 0 {
		sessionTTL = DefaultPortalSessionTTL
	}
	token := hookd.NewToken()
	return &hookd.PortalLink{ID: hookd.NewID(hookd.PrefixPortalLink), TokenHash: hookd.HashToken(token), TenantID: tenant,
		Label: label, CreatedBy: createdBy, ReadOnly: readOnly, SessionTTL: sessionTTL, CreatedAt: now.Truncate(time.Millisecond),
		ExpiresAt: now.Add(expiresIn).Truncate(time.Millisecond)}, token
}

// PortalLinkPath is the path of a portal link's token (under the origin).
func PortalLinkPath(token string) string { return "/ui/portal/" + token }

// createdBy names the caller that makes something: its API key's id, or
// "root".
func (c *call) createdBy() string {
	if c.key != nil {
		return c.key.ID
	}
	return "root"
}

func (s *Server) portalLinks() (hookd.SessionStore, error) {
	links, ok := s.Store.(hookd.SessionStore)
	if !ok {
		return nil, hookd.Errorf(hookd.EUNAVAILABLE, "this store keeps no portal links")
	}
	return links, nil
}

func (s *Server) createPortalLink(w http.ResponseWriter, r *http.Request, c *call) error {
	links, err := s.portalLinks()
	if err != nil {
		return err
	}
	o, err := s.readObject(w, r, defaultBodyLimit, false)
	if err != nil {
		return err
	}
	var readOnly bool
	var label string
	o.boolean("read_only", &readOnly)
	o.str("label", &label)
	ttl := hookd.Duration(DefaultPortalLinkTTL)
	if o.duration("expires_in", &ttl) {
		var f hookd.Fields
		CheckPortalLink("", time.Duration(ttl), &f)
		for _, fe := range f {
			o.addMsg(fe.Field, fe.Msg())
		}
	}
	if utf8.RuneCountInString(label) > hookd.MaxNameLen {
		o.add("label", "must be at most %d characters", hookd.MaxNameLen)
	}
	o.unknown()
	if err := o.err(); err != nil {
		return err
	}
	now := s.now()
	l, token := NewPortalLink(c.tenant, label, c.createdBy(), readOnly, time.Duration(ttl), s.PortalSessionTTL, now)
	if err := links.CreatePortalLink(r.Context(), l); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	v := viewPortalLink(l, now)
	v.URL = s.baseURL(r) + PortalLinkPath(token)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// MaxPortalLinks is how many of a tenant's portal links a list shows (the
// newest): links are kept a week after they expire.
const MaxPortalLinks = 200

func (s *Server) listPortalLinks(w http.ResponseWriter, r *http.Request, c *call) error {
	links, err := s.portalLinks()
	if err != nil {
		return err
	}
	ls, err := links.ListPortalLinks(r.Context(), c.tenant, MaxPortalLinks)
	if err != nil {
		return err
	}
	now := s.now()
	data := make([]portalLinkView, len(ls))
	for i, l := range ls {
		data[i] = viewPortalLink(l, now)
	}
	writeJSON(w, http.StatusOK, listAnswer{Data: data})
	return nil
}

func (s *Server) revokePortalLink(w http.ResponseWriter, r *http.Request, c *call) error {
	links, err := s.portalLinks()
	if err != nil {
		return err
	}
	if _, err := links.RevokePortalLink(r.Context(), c.tenant, r.PathValue("id"), s.now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
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
