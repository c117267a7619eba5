package httpapi

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
)

// call is what the auth layer learned about a request.
type call struct {
	root   bool
	key    *hookd.APIKey  // nil for root
	caller *access.Caller // the same, as access sees it
	tenant string         // the path's tenant, checked to exist and be visible
}

// authenticate finds the caller from the bearer token: the root token or an
// API key (see access.Authenticator). A missing or unknown token is
// EUNAUTHORIZED.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*call, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hookd"`)
		return nil, hookd.Errorf(hookd.EUNAUTHORIZED, "missing bearer token")
	}
	a := access.Authenticator{Keys: s.Store, RootTokenHash: s.RootTokenHash}
	c, err := a.Token(r.Context(), token)
	if hookd.ErrorCode(err) == hookd.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hookd", error="invalid_token"`)
		return nil, err
	} else if err != nil {
		return nil, err
	}
	if c.Root {
		return &call{root: true, caller: c}, nil
	}
	s.touch(r.Context(), c.Key)
	return &call{key: c.Key, caller: c}, nil
}

// keyTouchEvery is how often a key's last_used_at is written while it is
// in use: it may lag the key's last request by up to this much.
const keyTouchEvery = time.Minute

// touch records that k was used now, at most once per keyTouchEvery per key
// in this process; a request pays for one small write a minute, not one
// each. A failed write is logged and does not fail the request.
func (s *Server) touch(ctx context.Context, k *hookd.APIKey) {
	now := s.now()
	s.touchMu.Lock()
	if s.touched == nil {
		s.touched = map[string]time.Time{}
	}
	last, ok := s.touched[k.ID]
	due := !ok || now.Sub(last) >= keyTouchEvery || now.Before(last)
	if due {
		s.touched[k.ID] = now
	}
	s.touchMu.Unlock()
	if !due {
		return
	}
	if err := s.Store.TouchAPIKey(ctx, k.ID, now); err != nil {
		s.logger().Warn("record api key use", "key", k.ID, "err", err)
	}
}

// root guards the routes only the root token may use.
func (s *Server) root(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(w, r)
		if err == nil && !c.root {
			err = hookd.Errorf(hookd.EFORBIDDEN, "only the root token may do this")
		}
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// rootTenant guards /v1/tenants/{tenant}: root only, but a key of another
// tenant learns nothing (404) and a key of this tenant gets 403. A tenant id
// no store can keep is a 404 (see pathNotFound).
func (s *Server) rootTenant(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(w, r)
		if err == nil {
			c.tenant = r.PathValue("tenant")
			switch err = pathNotFound(r, "tenant"); {
			case err != nil: // what a key of another tenant gets too
			case c.root:
			case c.key.TenantID != c.tenant:
				err = hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
			default:
				err = hookd.Errorf(hookd.EFORBIDDEN, "only the root token may do this")
			}
		}
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// tenant guards a tenant's routes: root, or a key of that tenant holding
// what need asks for (see Admit). A tenant or {id} no store can keep is
// ENOTFOUND without asking the store (see pathNotFound).
func (s *Server) tenant(h handlerFunc, need access.Need) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := func() error {
			c, err := s.authenticate(w, r)
			if err != nil {
				return err
			}
			c.tenant = r.PathValue("tenant")
			if err := s.Admit(w, r, c.caller, c.tenant, need); err != nil {
				return err
			}
			if err := pathNotFound(r, "id"); err != nil {
				return err // where the handler's store call would answer it
			}
			return h(w, r, c)
		}()
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// Authenticate finds the caller of r's bearer token, the root token or an
// API key (see access.Authenticator), and records a key's use, as every
// route of the API does: EUNAUTHORIZED, with WWW-Authenticate set on w,
// for a missing or unknown token. The dialects (package dialect)
// authenticate through it.
func (s *Server) Authenticate(w http.ResponseWriter, r *http.Request) (*access.Caller, error) {
	c, err := s.authenticate(w, r)
	if err != nil {
		return nil, err
	}
	return c.caller, nil
}

// Admit decides whether c may do need in tenant, as every
// /v1/tenants/{tenant} route does: root may in every tenant that exists; a
// key only in its own, where it spends one of the tenant's requests (see
// RateLimit: ERATELIMITED with Retry-After set on w) and must hold a scope
// of need (EFORBIDDEN). Another tenant, or one that does not exist, is
// ENOTFOUND, checked before the scope so that a key never learns whether
// another tenant exists; so is a tenant id no store can keep, without
// asking the store.
func (s *Server) Admit(w http.ResponseWriter, r *http.Request, c *access.Caller, tenant string, need access.Need) error {
	if !hookd.CheckText(tenant, "").IsZero() {
		return hookd.Errorf(hookd.ENOTFOUND, "tenant not found") // what a key of another tenant gets too
	}
	if c.Root {
		if _, err := s.Store.GetTenant(r.Context(), tenant); err != nil {
			if hookd.ErrorCode(err) == hookd.ENOTFOUND {
				return hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
			}
			return err
		}
		return nil
	}
	if c.TenantID != tenant {
		return hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
	}
	if err := s.rateLimit(w, tenant); err != nil {
		return err
	}
	return c.Check(tenant, need)
}

// WriteError answers err as the API's problem document (see writeError);
// the enterprise dialect answers its errors with it.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, err)
}

// rateLimit spends one of tenant's requests (see Server.RateLimit); when
// none is left it sets Retry-After (whole seconds, at least 1) and returns
// ERATELIMITED.
func (s *Server) rateLimit(w http.ResponseWriter, tenant string) error {
	if s.RateLimit <= 0 {
		return nil
	}
	burst := s.RateBurst
	if burst <= 0 {
		burst = max(1, int(math.Ceil(s.RateLimit)))
	}
	ok, wait := s.limits.allow(tenant, s.RateLimit, burst, s.now())
	if ok {
		return nil
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return hookd.Errorf(hookd.ERATELIMITED, "tenant %s made more than %g requests a second; retry in %d s", tenant, s.RateLimit, secs)
}
