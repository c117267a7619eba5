package ui

import (
	"net/http"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/httpapi"
)

// --- portal links ---

// linkTTLs are the expiries the form offers, within the API's bounds.
var linkTTLs = []struct {
	Key string
	D   time.Duration
}{{"15m", 15 * time.Minute}, {"1h", time.Hour}, {"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}}

type linksPage struct {
	Links    []*hookd.PortalLink
	Keys     map[string]string // API key id → its name, for "created by"
	Created  *hookd.PortalLink // the link just made, shown with its URL once
	URL      string
	Label    string // the form's values after an error
	ReadOnly bool
	TTL      string
	TTLs     []string
	Errors   map[string][]string
	Max      int
	Session  time.Duration
}

// Status is a link's status at the page's time.
func (p linksPage) Status(v *view, l *hookd.PortalLink) string { return l.Status(v.now) }

// By names who made a link: root, an API key by its name, or its id.
func (p linksPage) By(v *view, id string) string {
	switch {
	case id == "root":
		return v.T("who.root")
	case p.Keys[id] != "":
		return p.Keys[id]
	case id == "":
		return "—"
	}
	return id
}

func (s *Server) linksPage(r *http.Request, v *view) (linksPage, error) {
	p := linksPage{Keys: map[string]string{}, Errors: map[string][]string{}, TTL: "1h", Max: httpapi.MaxPortalLinks,
		Session: s.sessionTTL(), ReadOnly: true}
	for _, t := range linkTTLs {
		p.TTLs = append(p.TTLs, t.Key)
	}
	ls, err := s.Store.ListPortalLinks(r.Context(), v.Tenant.ID, httpapi.MaxPortalLinks)
	if err != nil {
		return p, err
	}
	p.Links = ls
	keys, err := s.Store.ListAPIKeys(r.Context(), v.Tenant.ID, hookd.Page{Limit: 500})
	if err != nil {
		return p, err
	}
	for _, k := range keys {
		name := k.Name
		if name == "" {
			name = k.Prefix + "…"
		}
		p.Keys[k.ID] = name
	}
	return p, nil
}

func (s *Server) links(w http.ResponseWriter, r *http.Request, v *view) error {
	p, err := s.linksPage(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Section = v.T("nav.links"), "links"
	s.render(w, v, "links", http.StatusOK, p)
	return nil
}

// createLink makes a portal link with the API's rules and shows its URL
// once, on the answer to the POST (never in a page a link or the history
// can bring back).
func (s *Server) createLink(w http.ResponseWriter, r *http.Request, v *view) error {
	form := r.PostForm
	label := strings.TrimSpace(form.Get("label"))
	readOnly := form.Get("access") != "write"
	key := form.Get("expires_in")
	var ttl time.Duration
	for _, t := range linkTTLs {
		if t.Key == key {
			ttl = t.D
		}
	}
	var f hookd.Fields
	if ttl == 0 {
		f.Add("expires_in", "must be one of %s", "15m, 1h, 24h, 7d")
	} else {
		httpapi.CheckPortalLink(label, ttl, &f)
	}
	p, err := s.linksPage(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Section = v.T("nav.links"), "links"
	p.Label, p.ReadOnly, p.TTL = label, readOnly, key
	if len(f) > 0 {
		for _, fe := range f {
			p.Errors[fe.Field] = append(p.Errors[fe.Field], fieldMessage(v.Lang, fe))
		}
		s.render(w, v, "links", http.StatusUnprocessableEntity, p)
		return nil
	}
	by := "root"
	if !v.ses.root {
		by = ""
		if k := v.ses.caller.Key; k != nil {
			by = k.ID
		}
	}
	now := s.now()
	l, token := httpapi.NewPortalLink(v.Tenant.ID, label, by, readOnly, ttl, s.sessionTTL(), now)
	if err := s.Store.CreatePortalLink(r.Context(), l); err != nil {
		return err
	}
	p.Links = append([]*hookd.PortalLink{l}, p.Links...)
	p.Created, p.URL = l, s.origin(r)+httpapi.PortalLinkPath(token)
	p.Label, p.ReadOnly, p.TTL = "", true, "1h"
	s.render(w, v, "links", http.StatusCreated, p)
	return nil
}

func (s *Server) revokeLink(w http.ResponseWriter, r *http.Request, v *view) error {
	if _, err := s.Store.RevokePortalLink(r.Context(), v.Tenant.ID, r.PathValue("id"), s.now()); err != nil {
		return err
	}
	http.Redirect(w, r, v.TenantURL("/portal-links?done=link_revoked"), http.StatusSeeOther)
	return nil
}

// origin is where portal links point: PublicURL, else the request's own
// (as the API makes them).
func (s *Server) origin(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}
