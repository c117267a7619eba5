package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestPortalLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	e.mustTenant("other")
	admin := e.mustKey("acme", hookd.ScopeAdmin)
	writer := e.mustKey("acme", hookd.ScopeWebhooksWrite)

	before := time.Now()
	r := e.do("POST", "/v1/tenants/acme/portal-links", admin, map[string]any{"read_only": true, "expires_in": "1h"}).want(t, 201)
	url := r.str("url")
	token, ok := strings.CutPrefix(url, e.srv.URL+"/ui/portal/")
	if !ok || !strings.HasPrefix(token, "hk_") || r.field("read_only") != true {
		t.Fatalf("portal link = %s", r.Body)
	}
	exp, err := time.Parse(time.RFC3339Nano, r.str("expires_at"))
	if err != nil || exp.Before(before.Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Fatalf("expires_at = %q, %v; want in an hour", r.str("expires_at"), err)
	}
	// The store keeps the link, hashed, for its tenant, once.
	l, err := e.db.UsePortalLink(t.Context(), hookd.HashToken(token), time.Now())
	if err != nil || l.TenantID != "acme" || !l.ReadOnly || l.SessionTTL != 8*time.Hour {
		t.Fatalf("stored link = %+v, %v", l, err)
	}
	if _, err := e.db.UsePortalLink(t.Context(), hookd.HashToken(token), time.Now()); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Fatalf("second use = %v, want not found", err)
	}

	// The body is optional; the root token may make links too.
	r = e.do("POST", "/v1/tenants/acme/portal-links", rootToken, nil).want(t, 201)
	if r.field("read_only") != false {
		t.Fatalf("default link = %s", r.Body)
	}
	e.do("POST", "/v1/tenants/acme/portal-links", admin, map[string]any{"expires_in": "10s", "read_only": "yes", "x": 1}).
		wantFields(t, 400, "expires_in", "read_only", "x")
	e.do("POST", "/v1/tenants/acme/portal-links", writer, nil).want(t, 403)
	e.do("POST", "/v1/tenants/other/portal-links", admin, nil).want(t, 404)
	e.do("POST", "/v1/tenants/nope/portal-links", rootToken, nil).want(t, 404)
}
