package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
)

type tenantView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func viewTenant(t *hookd.Tenant) tenantView {
	return tenantView{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt.UTC()}
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	o, err := s.readObject(w, r, defaultBodyLimit, false)
	if err != nil {
		return err
	}
	t := &hookd.Tenant{CreatedAt: s.now()}
	if o.str("id", &t.ID) && !hookd.TenantIDPattern.MatchString(t.ID) {
		o.add("id", "must match ^[a-z0-9][a-z0-9_-]{0,63}$")
	}
	if o.str("name", &t.Name) && utf8.RuneCountInString(t.Name) > hookd.MaxNameLen {
		o.add("name", "must be at most %d characters", hookd.MaxNameLen)
	}
	o.readOnly("created_at")
	o.unknown()
	if err := o.err(); err != nil {
		return err
	}
	if t.ID == "" {
		t.ID = hookd.NewID(hookd.PrefixTenant)
	}
	if err := s.Store.CreateTenant(r.Context(), t); err != nil {
		var he *hookd.Error
		if hookd.ErrorCode(err) == hookd.ECONFLICT && asError(err, &he) && he.ExistingID == "" {
			e := *he
			e.ExistingID = t.ID
			return &e
		}
		return err
	}
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	writeJSON(w, http.StatusCreated, viewTenant(t))
	return nil
}

func (s *Server) listTenants(w http.ResponseWriter, r *http.Request, c *call) error {
	return listing[*hookd.Tenant, tenantView]{
		filter: everything(func(ctx context.Context, p hookd.Page) ([]*hookd.Tenant, error) {
			return s.Store.ListTenants(ctx, p)
		}),
		id:   func(t *hookd.Tenant) string { return t.ID },
		view: viewTenant,
	}.serve(w, r)
}

func (s *Server) getTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := s.Store.GetTenant(r.Context(), c.tenant)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewTenant(t))
	return nil
}

func (s *Server) deleteTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.Store.DeleteTenant(r.Context(), c.tenant); err != nil {
		return err
	}
	s.limits.forget(c.tenant) // a tenant made again with this id starts afresh
	s.catalogs.invalidate(c.tenant)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// keyView is an API key; Token is set only in create's answer.
type keyView struct {
	ID         string        `json:"id"`
	TenantID   string        `json:"tenant_id"`
	Name       string        `json:"name"`
	Scopes     []hookd.Scope `json:"scopes"`
	Prefix     string        `json:"prefix"`
	Token      string        `json:"token,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	LastUsedAt *time.Time    `json:"last_used_at"`
}

func viewKey(k *hookd.APIKey) keyView {
	v := keyView{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Scopes: k.Scopes, Prefix: k.Prefix,
		CreatedAt: k.CreatedAt.UTC(), LastUsedAt: utcPtr(k.LastUsedAt)}
	if v.Scopes == nil {
		v.Scopes = []hookd.Scope{}
	}
	return v
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request, c *call) error {
	o, err := s.readObject(w, r, defaultBodyLimit, true)
	if err != nil {
		return err
	}
	k := &hookd.APIKey{ID: hookd.NewID(hookd.PrefixKey), TenantID: c.tenant, CreatedAt: s.now()}
	if o.str("name", &k.Name) && utf8.RuneCountInString(k.Name) > hookd.MaxNameLen {
		o.add("name", "must be at most %d characters", hookd.MaxNameLen)
	}
	n := 0
	if o.list("scopes", func(p string, raw json.RawMessage) {
		n++
		sc, ok := asString(raw)
		switch {
		case !ok:
			o.add(p, "must be a string")
		case !hookd.ValidScope(sc):
			o.add(p, "is not a scope (webhooks:list, webhooks:read, webhooks:write, events:read, events:write, messages:read, messages:write, admin)")
		case !slices.Contains(k.Scopes, hookd.Scope(sc)):
			k.Scopes = append(k.Scopes, hookd.Scope(sc))
		}
	}) {
		if n == 0 {
			o.add("scopes", "must have at least one scope")
		}
	} else if !o.bad["scopes"] {
		o.add("scopes", "is required")
	}
	o.readOnly("id", "tenant_id", "prefix", "token", "created_at", "last_used_at")
	o.unknown()
	if err := o.err(); err != nil {
		return err
	}
	nk, token := access.NewKey(k.TenantID, k.Name, k.Scopes)
	k.TokenHash, k.Prefix = nk.TokenHash, nk.Prefix
	if err := s.Store.CreateAPIKey(r.Context(), k); err != nil {
		return err
	}
	v := viewKey(k)
	v.Token = token
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", r.URL.Path+"/"+k.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	return listing[*hookd.APIKey, keyView]{
		filter: everything(func(ctx context.Context, p hookd.Page) ([]*hookd.APIKey, error) {
			return s.Store.ListAPIKeys(ctx, c.tenant, p)
		}),
		id:   func(k *hookd.APIKey) string { return k.ID },
		view: viewKey,
	}.serve(w, r)
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.Store.DeleteAPIKey(r.Context(), c.tenant, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
