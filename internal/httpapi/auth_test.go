package httpapi_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/httpapi"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	for _, tc := range []struct{ name, header string }{
		{"missing", ""},
		{"wrong scheme", "Basic dXNlcjpwYXNz"},
		{"empty bearer", "Bearer "},
		{"unknown token", "Bearer hk_nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/v1/tenants/acme/webhooks", "", nil, "Authorization", tc.header).want(t, 401)
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	e.do("GET", "/v1/tenants", "", nil).want(t, 401)
	e.do("GET", "/v1/tenants", rootToken, nil, "Authorization", "bearer "+rootToken).want(t, 200)
}

// TestScopes checks every tenant route against the scope it needs: a key
// with the scope gets past auth (whatever the handler answers then), a key
// with every other scope gets 403, admin and root get past it too.
func TestScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	wh := e.mustWebhook("acme", hook("scopes"))
	const p = "/v1/tenants/acme"
	routes := []struct {
		method, path string
		scopes       []hookd.Scope
	}{
		{"GET", p + "/keys", []hookd.Scope{hookd.ScopeAdmin}},
		{"POST", p + "/keys", []hookd.Scope{hookd.ScopeAdmin}},
		{"DELETE", p + "/keys/key_nope", []hookd.Scope{hookd.ScopeAdmin}},
		{"GET", p + "/webhooks", []hookd.Scope{hookd.ScopeWebhooksList}},
		{"POST", p + "/webhooks", []hookd.Scope{hookd.ScopeWebhooksWrite}},
		{"GET", p + "/webhooks/" + wh, []hookd.Scope{hookd.ScopeWebhooksRead}},
		{"PUT", p + "/webhooks/" + wh, []hookd.Scope{hookd.ScopeWebhooksWrite}},
		{"PATCH", p + "/webhooks/" + wh, []hookd.Scope{hookd.ScopeWebhooksWrite}},
		{"DELETE", p + "/webhooks/wh_nope", []hookd.Scope{hookd.ScopeWebhooksWrite}},
		{"POST", p + "/webhooks/" + wh + "/unsuspend", []hookd.Scope{hookd.ScopeWebhooksWrite}},
		{"POST", p + "/webhooks/wh_nope/test", []hookd.Scope{hookd.ScopeWebhooksWrite}},
		{"GET", p + "/webhooks/" + wh + "/secrets", []hookd.Scope{hookd.ScopeWebhooksWrite}},
		{"POST", p + "/webhooks/wh_nope/secrets/rotate", []hookd.Scope{hookd.ScopeWebhooksWrite}},
		{"POST", p + "/webhooks/" + wh + "/recover", []hookd.Scope{hookd.ScopeWebhooksWrite, hookd.ScopeMessagesWrite}},
		{"POST", p + "/events", []hookd.Scope{hookd.ScopeEventsWrite}},
		{"POST", p + "/events/batch", []hookd.Scope{hookd.ScopeEventsWrite}},
		{"GET", p + "/events", []hookd.Scope{hookd.ScopeEventsRead}},
		{"GET", p + "/events/evt_nope", []hookd.Scope{hookd.ScopeEventsRead}},
		{"GET", p + "/messages", []hookd.Scope{hookd.ScopeMessagesRead}},
		{"GET", p + "/messages/msg_nope", []hookd.Scope{hookd.ScopeMessagesRead}},
		{"GET", p + "/messages/msg_nope/attempts", []hookd.Scope{hookd.ScopeMessagesRead}},
		{"POST", p + "/messages/msg_nope/retry", []hookd.Scope{hookd.ScopeMessagesWrite}},
		{"POST", p + "/messages/msg_nope/abort", []hookd.Scope{hookd.ScopeMessagesWrite}},
		{"POST", p + "/messages/msg_nope/resolve", []hookd.Scope{hookd.ScopeMessagesWrite}},
	}
	tokens := map[hookd.Scope]string{}
	for _, s := range hookd.Scopes {
		tokens[s] = e.mustKey("acme", s)
	}
	e.mustTenant("other")
	otherAdmin := e.mustKey("other", hookd.ScopeAdmin)
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			for _, s := range hookd.Scopes {
				allowed := s == hookd.ScopeAdmin
				for _, need := range rt.scopes {
					allowed = allowed || s == need
				}
				r := e.do(rt.method, rt.path, tokens[s], nil)
				if allowed && (r.Status == 401 || r.Status == 403) {
					t.Errorf("scope %s: %d, want allowed: %s", s, r.Status, r.Body)
				}
				if !allowed && r.Status != 403 {
					t.Errorf("scope %s: %d, want 403", s, r.Status)
				}
			}
			if r := e.do(rt.method, rt.path, rootToken, nil); r.Status == 401 || r.Status == 403 {
				t.Errorf("root: %d", r.Status)
			}
			// Another tenant's admin learns nothing: 404, never 403.
			e.do(rt.method, rt.path, otherAdmin, nil).want(t, 404)
			// Root on a tenant that does not exist: 404.
			e.do(rt.method, strings.Replace(rt.path, "/acme/", "/ghost/", 1), rootToken, nil).want(t, 404)
		})
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("a")
	e.mustTenant("b")
	keyA := e.mustKey("a", hookd.ScopeAdmin)
	keyB := e.mustKey("b", hookd.ScopeWebhooksRead, hookd.ScopeWebhooksList)
	whB := e.mustWebhook("b", hook("b"))
	e.do("GET", "/v1/tenants/b/webhooks/"+whB, keyA, nil).want(t, 404)
	e.do("GET", "/v1/tenants/b/webhooks", keyA, nil).want(t, 404)
	e.do("GET", "/v1/tenants/a/webhooks/"+whB, keyA, nil).want(t, 404) // right tenant path, wrong tenant's id
	e.do("GET", "/v1/tenants/b/webhooks/"+whB, keyB, nil).want(t, 200)
	e.do("GET", "/v1/tenants/b", keyA, nil).want(t, 404)
	e.do("GET", "/v1/tenants/a", keyA, nil).want(t, 403)
	e.do("GET", "/v1/tenants/nope", keyA, nil).want(t, 404)
}

func TestTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/v1/tenants", rootToken, map[string]string{"id": "acme", "name": "Acme GmbH"}).want(t, 201)
	if r.str("id") != "acme" || r.str("name") != "Acme GmbH" || !strings.HasSuffix(r.str("created_at"), "Z") {
		t.Fatalf("create tenant: %s", r.Body)
	}
	gen := e.do("POST", "/v1/tenants", rootToken, map[string]string{"name": "generated"}).want(t, 201).str("id")
	if !hookd.TenantIDPattern.MatchString(gen) {
		t.Fatalf("generated id %q does not match the pattern", gen)
	}
	e.do("POST", "/v1/tenants", rootToken, nil).want(t, 201)
	c := e.do("POST", "/v1/tenants", rootToken, map[string]string{"id": "acme"}).want(t, 409)
	if c.str("existing_id") != "acme" {
		t.Fatalf("existing_id = %q", c.str("existing_id"))
	}
	for _, bad := range []any{
		map[string]any{"id": "Acme"}, map[string]any{"id": "-x"}, map[string]any{"id": strings.Repeat("a", 65)},
		map[string]any{"id": 5}, map[string]any{"id": "ok", "bogus": true},
	} {
		e.do("POST", "/v1/tenants", rootToken, bad).want(t, 400)
	}
	e.do("POST", "/v1/tenants", rootToken, map[string]any{"id": "", "name": 3}).wantFields(t, 400, "id", "name")
	e.do("GET", "/v1/tenants/acme", rootToken, nil).want(t, 200)
	l := e.do("GET", "/v1/tenants?limit=2", rootToken, nil).want(t, 200)
	if len(l.data()) != 2 || l.JSON["next_cursor"] == nil {
		t.Fatalf("list tenants: %s", l.Body)
	}
	l2 := e.do("GET", "/v1/tenants?limit=2&cursor="+l.str("next_cursor"), rootToken, nil).want(t, 200)
	if len(l2.data()) != 1 || l2.JSON["next_cursor"] != nil {
		t.Fatalf("second page: %s", l2.Body)
	}
	key := e.mustKey("acme", hookd.ScopeAdmin)
	e.do("GET", "/v1/tenants", key, nil).want(t, 403)
	e.do("POST", "/v1/tenants", key, map[string]string{"id": "x"}).want(t, 403)
	e.do("DELETE", "/v1/tenants/acme", key, nil).want(t, 403)
	e.do("DELETE", "/v1/tenants/acme", rootToken, nil).want(t, 204)
	e.do("GET", "/v1/tenants/acme", rootToken, nil).want(t, 404)
	e.do("DELETE", "/v1/tenants/acme", rootToken, nil).want(t, 404)
	e.do("GET", "/v1/tenants/acme/webhooks", key, nil).want(t, 401) // its keys went with it
}

func TestKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	r := e.do("POST", "/v1/tenants/acme/keys", rootToken, map[string]any{"name": "erp", "scopes": []string{"webhooks:write", "admin"}}).want(t, 201)
	token, id := r.str("token"), r.str("id")
	if !strings.HasPrefix(token, "hk_") || !strings.HasPrefix(id, "key_") || !strings.HasPrefix(token, r.str("prefix")) {
		t.Fatalf("create key: %s", r.Body)
	}
	l := e.do("GET", "/v1/tenants/acme/keys", token, nil).want(t, 200)
	if strings.Contains(string(l.Body), token) || len(l.data()) != 1 || l.data()[0]["token"] != nil {
		t.Fatalf("list shows the token: %s", l.Body)
	}
	// A tenant admin makes keys.
	k2 := e.do("POST", "/v1/tenants/acme/keys", token, map[string]any{"name": "ro", "scopes": []string{"webhooks:read"}}).want(t, 201)
	e.do("POST", "/v1/tenants/acme/keys", k2.str("token"), map[string]any{"scopes": []string{"admin"}}).want(t, 403)
	e.do("POST", "/v1/tenants/acme/keys", rootToken, map[string]any{"name": "x", "scopes": []any{"webhooks:read", "root", 3}}).
		wantFields(t, 400, "scopes[1]", "scopes[2]")
	e.do("POST", "/v1/tenants/acme/keys", rootToken, map[string]any{"name": "x"}).wantFields(t, 400, "scopes")
	e.do("POST", "/v1/tenants/acme/keys", rootToken, map[string]any{"scopes": []string{}, "token": "mine"}).wantFields(t, 400, "scopes", "token")
	e.do("DELETE", "/v1/tenants/acme/keys/"+k2.str("id"), token, nil).want(t, 204)
	e.do("GET", "/v1/tenants/acme/webhooks", k2.str("token"), nil).want(t, 401)
	e.do("DELETE", "/v1/tenants/acme/keys/"+k2.str("id"), token, nil).want(t, 404)
	e.do("DELETE", "/v1/tenants/acme/keys/"+id, rootToken, nil).want(t, 204)
	e.do("GET", "/v1/tenants/acme/keys", token, nil).want(t, 401)
}

// Keys are remembered between requests (the store caches FindAPIKey); a
// revoked key, or a key of a deleted tenant, is refused on the very next
// request.
func TestRevokedKeyRefusedAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	e.mustTenant("other")
	ev := map[string]any{"type": "Unit.Updated", "payload": map[string]any{"id": 1}}
	r := e.do("POST", "/v1/tenants/acme/keys", rootToken, map[string]any{"name": "erp", "scopes": []string{"events:write"}}).want(t, 201)
	key, id := r.str("token"), r.str("id")
	admin := e.mustKey("acme", hookd.ScopeAdmin)
	otherKey := e.mustKey("other", hookd.ScopeAdmin)
	for range 3 {
		e.do("POST", "/v1/tenants/acme/events", key, ev).want(t, 202)
	}
	e.do("DELETE", "/v1/tenants/acme/keys/"+id, admin, nil).want(t, 204)
	e.do("POST", "/v1/tenants/acme/events", key, ev).want(t, 401)

	for range 3 {
		e.do("POST", "/v1/tenants/acme/events", admin, ev).want(t, 202)
		e.do("POST", "/v1/tenants/other/events", otherKey, ev).want(t, 202)
	}
	e.do("DELETE", "/v1/tenants/acme", rootToken, nil).want(t, 204)
	e.do("POST", "/v1/tenants/acme/events", admin, ev).want(t, 401)
	e.do("POST", "/v1/tenants/other/events", otherKey, ev).want(t, 202)
}

// An API key's last_used_at shows when it was last used, written at most
// once a minute per key; the root token and other keys do not move it.
func TestKeyLastUsed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var clock atomic.Int64
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	clock.Store(t0.UnixNano())
	e.api.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	e.mustTenant("acme")
	r := e.do("POST", "/v1/tenants/acme/keys", rootToken, map[string]any{"name": "erp", "scopes": []string{"webhooks:list"}}).want(t, 201)
	token := r.str("token")
	other := e.mustKey("acme", hookd.ScopeAdmin)
	lastUsed := func() any {
		t.Helper()
		for _, k := range e.do("GET", "/v1/tenants/acme/keys", rootToken, nil).want(t, 200).data() {
			if k["id"] == r.str("id") {
				return k["last_used_at"]
			}
		}
		t.Fatal("key not listed")
		return nil
	}
	if got := lastUsed(); got != nil {
		t.Fatalf("unused key: last_used_at = %v, want null", got)
	}
	for _, step := range []struct {
		at    time.Duration
		token string
		want  time.Duration
	}{
		{10 * time.Second, token, 10 * time.Second},
		{40 * time.Second, token, 10 * time.Second}, // within the minute: not written again
		{50 * time.Second, other, 10 * time.Second}, // another key
		{71 * time.Second, token, 71 * time.Second},
		{2 * time.Minute, rootToken, 71 * time.Second},
	} {
		clock.Store(t0.Add(step.at).UnixNano())
		e.do("GET", "/v1/tenants/acme/webhooks", step.token, nil).want(t, 200)
		if got, want := lastUsed(), t0.Add(step.want).Format(time.RFC3339Nano); got != want {
			t.Fatalf("after a request at +%v: last_used_at = %v, want %v", step.at, got, want)
		}
	}
}

// With a rate limit, each tenant's keys share a bucket: past it the answer
// is 429 with Retry-After, and neither another tenant nor the root token
// is held back.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var clock atomic.Int64
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	at := func(d time.Duration) { clock.Store(t0.Add(d).UnixNano()) }
	at(0)
	e.api.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	e.api.RateLimit = 2 // a token every 500 ms, 2 at once
	e.mustTenant("acme")
	e.mustTenant("other")
	a1, a2 := e.mustKey("acme", hookd.ScopeAdmin), e.mustKey("acme", hookd.ScopeWebhooksList)
	o := e.mustKey("other", hookd.ScopeAdmin)
	list := func(tenant, key string) *resp { return e.do("GET", "/v1/tenants/"+tenant+"/webhooks", key, nil) }

	list("acme", a1).want(t, 200)
	list("acme", a2).want(t, 200) // the second key spends the same bucket
	r := list("acme", a1).want(t, 429)
	if r.Header.Get("Retry-After") != "1" || r.str("type") != httpapi.ProblemTypeBase+"rate-limited" {
		t.Fatalf("429: Retry-After %q, body %s", r.Header.Get("Retry-After"), r.Body)
	}
	list("other", o).want(t, 200)
	list("acme", rootToken).want(t, 200)
	list("other", a1).want(t, 404) // another tenant's path: not found, spends nothing

	at(499 * time.Millisecond)
	list("acme", a1).want(t, 429)
	at(500 * time.Millisecond)
	list("acme", a1).want(t, 200)
	list("acme", a1).want(t, 429)
	at(10 * time.Second) // refilled, but only up to the burst
	list("acme", a1).want(t, 200)
	list("acme", a1).want(t, 200)
	list("acme", a1).want(t, 429)

	e.api.RateLimit, e.api.RateBurst = 0.1, 1 // one every 10 s
	at(time.Hour)
	list("other", o).want(t, 200)
	if r := list("other", o).want(t, 429); r.Header.Get("Retry-After") != "10" {
		t.Fatalf("Retry-After %q, want 10", r.Header.Get("Retry-After"))
	}
}
