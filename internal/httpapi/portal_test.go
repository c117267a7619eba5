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
	e.do("POST", "/v1/tenants/acme/portal-links", admin, map[string]any{"label": strings.Repeat("x", 256)}).
		wantFields(t, 400, "label")
}

// A tenant's admins list its portal links with what became of each, and
// revoke one: it stops working. Another tenant's links are not theirs.
func TestPortalLinkListAndRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	e.mustTenant("other")
	admin := e.mustKey("acme", hookd.ScopeAdmin)
	otherAdmin := e.mustKey("other", hookd.ScopeAdmin)
	reader := e.mustKey("acme", hookd.ScopeMessagesRead)

	first := e.do("POST", "/v1/tenants/acme/portal-links", admin, map[string]any{"label": "Mieterin Schulz"}).want(t, 201)
	id := first.str("id")
	if !strings.HasPrefix(id, "pl_") || first.str("label") != "Mieterin Schulz" || first.str("status") != "unused" ||
		first.str("created_by") == "" || first.str("created_by") == "root" {
		t.Fatalf("created link = %s", first.Body)
	}
	second := e.do("POST", "/v1/tenants/acme/portal-links", rootToken, map[string]any{"read_only": true}).want(t, 201)
	if second.str("created_by") != "root" {
		t.Fatalf("root's link = %s", second.Body)
	}
	token, _ := strings.CutPrefix(second.str("url"), e.srv.URL+"/ui/portal/")
	if _, err := e.db.UsePortalLink(t.Context(), hookd.HashToken(token), time.Now()); err != nil {
		t.Fatal(err)
	}

	list := e.do("GET", "/v1/tenants/acme/portal-links", admin, nil).want(t, 200).data()
	if len(list) != 2 || list[0]["id"] != second.str("id") || list[0]["status"] != "used" || list[0]["used_at"] == nil ||
		list[1]["id"] != id || list[1]["status"] != "unused" || list[1]["url"] != nil {
		t.Fatalf("list = %v", list)
	}
	e.do("GET", "/v1/tenants/acme/portal-links", reader, nil).want(t, 403)
	if got := e.do("GET", "/v1/tenants/other/portal-links", otherAdmin, nil).want(t, 200).data(); len(got) != 0 {
		t.Fatalf("other's list = %v", got)
	}

	e.do("DELETE", "/v1/tenants/other/portal-links/"+id, otherAdmin, nil).want(t, 404)
	e.do("DELETE", "/v1/tenants/acme/portal-links/"+id, reader, nil).want(t, 403)
	e.do("DELETE", "/v1/tenants/acme/portal-links/pl_nope", admin, nil).want(t, 404)
	e.do("DELETE", "/v1/tenants/acme/portal-links/"+id, admin, nil).want(t, 204)
	e.do("DELETE", "/v1/tenants/acme/portal-links/"+id, admin, nil).want(t, 204) // again: still revoked
	list = e.do("GET", "/v1/tenants/acme/portal-links", admin, nil).want(t, 200).data()
	if list[1]["status"] != "revoked" || list[1]["revoked_at"] == nil {
		t.Fatalf("revoked link listed as %v", list[1])
	}
	token, _ = strings.CutPrefix(first.str("url"), e.srv.URL+"/ui/portal/")
	if _, err := e.db.UsePortalLink(t.Context(), hookd.HashToken(token), time.Now()); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Fatalf("revoked link used: %v, want not found", err)
	}
}
