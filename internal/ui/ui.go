// Package ui is hookd's dashboard, served by the API under /ui/: server-drawn
// pages (html/template, assets embedded, a little JavaScript of our own)
// for operators (the root token), tenants (an API key) and a platform's own
// customers (portal links). A session may do exactly what its credential
// may do through the API (package access decides both); it reads and
// writes through the Store, never through HTTP calls to itself.
package ui

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
)

//go:embed templates/*.html assets/*
var files embed.FS

// Store is what the dashboard needs of a store.
type Store interface {
	hookd.Store
	hookd.SessionStore
	hookd.StatsStore
	hookd.BulkMessageStore
}

// Deliverer sends a webhook's test calls and is woken after changes that
// make work due (httpapi.Deliverer has the same methods).
type Deliverer interface {
	Wake()
	Test(ctx context.Context, w *hookd.Webhook, eventType string, payload json.RawMessage, headers map[string][]string) (*hookd.Attempt, error)
}

// DefaultSessionTTL is how long a sign-in lasts when Server.SessionTTL is 0.
const DefaultSessionTTL = 8 * time.Hour

// Server is the dashboard. Set the fields, then serve Handler under /ui/.
type Server struct {
	Store Store
	// Targets checks webhook URLs as the API does.
	Targets hookd.TargetChecker
	// RootTokenHash is hookd.HashToken of the root token ("" disables it).
	RootTokenHash string
	// Deliverer sends test calls and is woken (nil: test calls answer that
	// delivery is not running).
	Deliverer Deliverer
	// Dev leaves the Secure attribute off the cookies (plain http on
	// loopback); never in production.
	Dev bool
	// FrameAncestors are the origins that may frame the pages
	// (Content-Security-Policy frame-ancestors); none by default.
	FrameAncestors []string
	// SessionTTL is how long a sign-in, or a session a portal link opens,
	// lasts (0: DefaultSessionTTL).
	SessionTTL time.Duration
	// PublicURL is the origin the portal links made here point at
	// (default: the request's), as httpapi.Server.PublicURL.
	PublicURL string
	// MaxPayloadBytes limits a test call's payload (0: 256 KiB).
	MaxPayloadBytes int
	// Logger receives internal errors (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	mux   *http.ServeMux
	pages map[string]*pageTemplate
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (s *Server) sessionTTL() time.Duration {
	if s.SessionTTL > 0 {
		return s.SessionTTL
	}
	return DefaultSessionTTL
}

func (s *Server) wake() {
	if s.Deliverer != nil {
		s.Deliverer.Wake()
	}
}

// Handler returns the dashboard's handler for paths under /ui/. It panics
// if a template does not parse (a bug, caught by every test).
func (s *Server) Handler() http.Handler {
	s.pages = mustParsePages()
	m := http.NewServeMux()
	s.mux = m
	assets, _ := fs.Sub(files, "assets")
	static := http.StripPrefix("/ui/assets/", http.FileServerFS(assets))
	m.Handle("GET /ui/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		static.ServeHTTP(w, r)
	}))
	m.HandleFunc("GET /ui/{$}", s.page(s.overview, nil))
	m.HandleFunc("POST /ui/login", s.login)
	m.HandleFunc("POST /ui/logout", s.action(s.logout, nil))
	m.HandleFunc("GET /ui/portal/{token}", s.portal)

	const t = "/ui/t/{tenant}"
	m.HandleFunc("GET "+t+"/{$}", s.page(s.tenantOverview, access.ListWebhooks))
	m.HandleFunc("GET "+t+"/webhooks", s.page(s.webhooks, access.ListWebhooks))
	m.HandleFunc("GET "+t+"/webhooks/new", s.page(s.newWebhook, access.WriteWebhooks))
	m.HandleFunc("POST "+t+"/webhooks", s.action(s.createWebhook, access.WriteWebhooks))
	m.HandleFunc("GET "+t+"/webhooks/{id}", s.page(s.webhook, access.ReadWebhooks))
	m.HandleFunc("POST "+t+"/webhooks/{id}", s.action(s.updateWebhook, access.WriteWebhooks))
	m.HandleFunc("POST "+t+"/webhooks/{id}/enable", s.action(s.setEnabled(true), access.WriteWebhooks))
	m.HandleFunc("POST "+t+"/webhooks/{id}/disable", s.action(s.setEnabled(false), access.WriteWebhooks))
	m.HandleFunc("POST "+t+"/webhooks/{id}/unsuspend", s.action(s.unsuspend, access.WriteWebhooks))
	m.HandleFunc("POST "+t+"/webhooks/{id}/delete", s.action(s.deleteWebhook, access.WriteWebhooks))
	m.HandleFunc("POST "+t+"/webhooks/{id}/test", s.action(s.testWebhook, access.WriteWebhooks))
	m.HandleFunc("POST "+t+"/webhooks/{id}/secrets", s.action(s.revealSecrets, access.WriteWebhooks))
	m.HandleFunc("POST "+t+"/webhooks/{id}/rotate", s.action(s.rotateSecret, access.WriteWebhooks))
	m.HandleFunc("POST "+t+"/webhooks/{id}/recover", s.action(s.recoverMessages, access.RecoverMessages))
	m.HandleFunc("GET "+t+"/messages", s.page(s.messages, access.ReadMessages))
	m.HandleFunc("GET "+t+"/messages/{id}", s.page(s.message, access.ReadMessages))
	m.HandleFunc("POST "+t+"/messages/bulk", s.action(s.bulkPreview, access.WriteMessages))
	m.HandleFunc("POST "+t+"/messages/{id}/{op}", s.action(s.messageAction, access.WriteMessages))
	m.HandleFunc("GET "+t+"/events", s.page(s.events, access.ReadEvents))
	m.HandleFunc("GET "+t+"/keys", s.page(s.keys, access.ManageKeys))
	m.HandleFunc("POST "+t+"/keys", s.action(s.createKey, access.ManageKeys))
	m.HandleFunc("POST "+t+"/keys/{id}/revoke", s.action(s.revokeKey, access.ManageKeys))
	m.HandleFunc("GET "+t+"/portal-links", s.page(s.links, access.PortalLinks))
	m.HandleFunc("POST "+t+"/portal-links", s.action(s.createLink, access.PortalLinks))
	m.HandleFunc("POST "+t+"/portal-links/{id}/revoke", s.action(s.revokeLink, access.PortalLinks))
	return http.HandlerFunc(s.serve)
}

// serve sets the headers every answer carries and routes.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	ancestors := "'none'"
	if len(s.FrameAncestors) > 0 {
		ancestors = strings.Join(s.FrameAncestors, " ")
	} else {
		h.Set("X-Frame-Options", "DENY")
	}
	// No inline script or style, nothing from another origin.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors "+ancestors)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.notFound(w, r, nil)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Cookie names. The session cookie is scoped to /ui/.
const (
	sessionCookie = "hookd_session"
	loginCookie   = "hookd_login" // the sign-in form's CSRF token, before a session exists
)

// session is the signed-in caller of a request.
type session struct {
	caller *access.Caller
	token  string // the cookie's value
	csrf   string
	portal bool
	root   bool
}

// csrfToken derives a session's CSRF token from its cookie: only a page of
// the session can know it, and nothing is stored.
func csrfToken(cookie string) string {
	m := hmac.New(sha256.New, []byte(cookie))
	m.Write([]byte("hookd ui csrf"))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// current returns the request's session, or nil when there is none (or it
// ended: expired, signed out, its key revoked, the root token changed).
func (s *Server) current(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	ses, err := s.Store.FindSession(r.Context(), hookd.HashToken(c.Value), s.now())
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	out := &session{token: c.Value, csrf: csrfToken(c.Value)}
	if ses.CredentialHash == "" {
		out.portal = true
		out.caller = &access.Caller{TenantID: ses.TenantID, Scopes: ses.Scopes}
		return out, nil
	}
	a := access.Authenticator{Keys: s.Store, RootTokenHash: s.RootTokenHash}
	caller, err := a.Hash(r.Context(), ses.CredentialHash)
	if hookd.ErrorCode(err) == hookd.EUNAUTHORIZED {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	out.caller, out.root = caller, caller.Root
	return out, nil
}

// handler is a page or action: it writes its answer or returns an error.
type handler func(w http.ResponseWriter, r *http.Request, v *view) error

// page guards a GET page: a session (else the sign-in form), and for a
// tenant's page the tenant (404 when not the session's or absent) and need.
func (s *Server) page(h handler, need access.Need) http.HandlerFunc {
	return s.guard(h, need, false)
}

// action guards a POST that changes state: as page, plus the session's
// CSRF token (403 without it).
func (s *Server) action(h handler, need access.Need) http.HandlerFunc {
	return s.guard(h, need, true)
}

func (s *Server) guard(h handler, need access.Need, post bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := s.newView(r)
		ses, err := s.current(r)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		if ses == nil {
			if post {
				s.forbidden(w, r, v)
				return
			}
			v.Next = r.URL.RequestURI()
			s.renderLogin(w, r, v, "", http.StatusOK)
			return
		}
		v.ses = ses
		if post {
			r.Body = http.MaxBytesReader(w, r.Body, 2<<20)
			if err := r.ParseForm(); err != nil {
				s.fail(w, r, v, hookd.Errorf(hookd.EINVALID, "the form could not be read"))
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(ses.csrf)) != 1 {
				s.forbidden(w, r, v)
				return
			}
		}
		if tenant := r.PathValue("tenant"); tenant != "" {
			if err := ses.caller.Check(tenant, need); err != nil {
				if hookd.ErrorCode(err) == hookd.EFORBIDDEN {
					s.forbidden(w, r, v)
				} else {
					s.notFound(w, r, v)
				}
				return
			}
			t, err := s.Store.GetTenant(r.Context(), tenant)
			if hookd.ErrorCode(err) == hookd.ENOTFOUND {
				s.notFound(w, r, v)
				return
			} else if err != nil {
				s.fail(w, r, v, err)
				return
			}
			v.Tenant = t
		}
		if err := h(w, r, v); err != nil {
			s.fail(w, r, v, err)
		}
	}
}

// newSession signs in as caller (credentialHash: the token's hash; "" for
// a portal, whose link is link) and sets the cookie.
func (s *Server) newSession(w http.ResponseWriter, r *http.Request, credentialHash string, caller *access.Caller,
	ttl time.Duration, link *hookd.PortalLink) error {
	token := randomToken()
	now := s.now()
	ses := &hookd.Session{TokenHash: hookd.HashToken(token), CredentialHash: credentialHash,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	portal := link != nil
	if portal {
		ses.TenantID, ses.Scopes, ses.LinkID = caller.TenantID, caller.Scopes, link.ID
	}
	if err := s.Store.CreateSession(r.Context(), ses); err != nil {
		return err
	}
	c := &http.Cookie{Name: sessionCookie, Value: token, Path: "/ui/", HttpOnly: true, Secure: !s.Dev,
		SameSite: http.SameSiteStrictMode, Expires: ses.ExpiresAt}
	if portal && len(s.FrameAncestors) > 0 && !s.Dev {
		// A framed portal's requests are cross-site: a Strict (or Lax)
		// cookie would never be sent. The CSRF token still guards every
		// change.
		c.SameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
	return nil
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ui: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// login signs in with a token (an API key or the root token) from the
// sign-in form, whose CSRF token is the one of its cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.forbidden(w, r, v)
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(c.Value)) != 1 {
		s.forbidden(w, r, v)
		return
	}
	v.Next = safeNext(r.PostForm.Get("next"))
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if token == "" {
		s.renderLogin(w, r, v, v.T("login.empty"), http.StatusBadRequest)
		return
	}
	a := access.Authenticator{Keys: s.Store, RootTokenHash: s.RootTokenHash}
	hash := hookd.HashToken(token)
	caller, err := a.Hash(r.Context(), hash)
	if hookd.ErrorCode(err) == hookd.EUNAUTHORIZED {
		s.renderLogin(w, r, v, v.T("login.invalid"), http.StatusUnauthorized)
		return
	} else if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if err := s.newSession(w, r, hash, caller, s.sessionTTL(), nil); err != nil {
		s.fail(w, r, v, err)
		return
	}
	next := v.Next
	if next == "" {
		next = "/ui/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// safeNext keeps a return path only if it is one of the dashboard's own.
func safeNext(p string) string {
	if strings.HasPrefix(p, "/ui/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n") {
		return p
	}
	return ""
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.Store.DeleteSession(r.Context(), hookd.HashToken(v.ses.token)); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/ui/", HttpOnly: true, Secure: !s.Dev,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/ui/?done=signed_out", http.StatusSeeOther)
	return nil
}

// portal exchanges a one-use portal link for a session limited to its
// tenant, then sends the browser to a clean URL (the token leaves the
// address bar and the history).
func (s *Server) portal(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	l, err := s.Store.UsePortalLink(r.Context(), hookd.HashToken(r.PathValue("token")), s.now())
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		s.renderLogin(w, r, v, v.T("portal.invalid"), http.StatusNotFound)
		return
	} else if err != nil {
		s.fail(w, r, v, err)
		return
	}
	caller := &access.Caller{TenantID: l.TenantID, Scopes: access.PortalScopes(l.ReadOnly)}
	if err := s.newSession(w, r, "", caller, l.SessionTTL, l); err != nil {
		s.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/ui/t/"+l.TenantID+"/webhooks", http.StatusSeeOther)
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, v *view, msg string, status int) {
	tok := randomToken()[:32]
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/ui/", HttpOnly: true, Secure: !s.Dev,
		SameSite: http.SameSiteStrictMode})
	v.LoginCSRF = tok
	v.Error = msg
	v.Title = v.T("login.title")
	s.render(w, v, "login", status, nil)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, v *view) {
	if v == nil {
		v = s.newView(r)
	}
	v.Title = v.T("error.notfound")
	s.render(w, v, "error", http.StatusNotFound, errorPage{Message: v.T("error.notfound.text")})
}

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title = v.T("error.forbidden")
	s.render(w, v, "error", http.StatusForbidden, errorPage{Message: v.T("error.forbidden.text")})
}

// fail answers an error: the domain's codes as the API maps them, anything
// else logged and shown without detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	switch hookd.ErrorCode(err) {
	case hookd.ENOTFOUND:
		s.notFound(w, r, v)
		return
	case hookd.EFORBIDDEN:
		s.forbidden(w, r, v)
		return
	case hookd.EINVALID, hookd.ECONFLICT, hookd.ETOOLARGE, hookd.EUNAVAILABLE:
		v.Title = v.T("error.title")
		status := map[string]int{hookd.EINVALID: 400, hookd.ECONFLICT: 409, hookd.ETOOLARGE: 413, hookd.EUNAVAILABLE: 503}[hookd.ErrorCode(err)]
		s.render(w, v, "error", status, errorPage{Message: errorMessage(v.Lang, err), Retry: retryURL(r, status)})
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		v.Title = v.T("error.title")
		s.render(w, v, "error", http.StatusRequestEntityTooLarge, errorPage{Message: errorMessage(v.Lang, hookd.Errorf(hookd.ETOOLARGE, "the form is too large"))})
		return
	}
	s.logger().Error("dashboard: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	v.Title = v.T("error.title")
	s.render(w, v, "error", http.StatusInternalServerError, errorPage{Message: v.T("error.internal"), Retry: retryURL(r, 500)})
}

// errorPage is what the error page says, and where "Try again" goes
// ("" when trying again cannot help).
type errorPage struct{ Message, Retry string }

// retryURL is the page to load again after a failure that may pass (the
// store was busy or unreachable): the same GET. A failed POST is not sent
// again by a link; its form is one step back.
func retryURL(r *http.Request, status int) string {
	if r.Method != http.MethodGet || status < 500 {
		return ""
	}
	return safeNext(r.URL.RequestURI())
}
