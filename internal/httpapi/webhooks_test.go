package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/hookd/hookd"
)

func TestCreateWebhookValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	base := hook("v")
	tests := []struct {
		name   string
		body   any
		status int
		fields []string
	}{
		{"malformed JSON", `{"name": `, 400, nil},
		{"not an object", `[1,2]`, 400, nil},
		{"empty body", ``, 400, nil},
		{"null body", `null`, 400, nil},
		{"unknown fields", merge(base, "bogus", 1, "colour", "red"), 400, []string{"bogus", "colour"}},
		{"read-only fields", merge(base, "id", "wh_x", "suspended", true), 400, []string{"id", "suspended"}},
		{"patch-only field in create", merge(base, "add_event_types", []string{"a"}), 400, []string{"add_event_types"}},
		{"wrong types named", merge(base, "name", 5, "timeout_ms", "10", "enabled", "yes", "max_retries", 1.5,
			"event_types", "Unit.*", "filter", []string{}, "grouped", 1, "rate_limit", "fast"), 400,
			[]string{"name", "timeout_ms", "enabled", "max_retries", "event_types", "filter", "grouped", "rate_limit"}},
		{"nested wrong types", merge(base, "event_types", []any{"a", 2, "b", nil}, "headers", map[string]any{"X-A": "one", "X-B": []any{"ok", 3}},
			"filter", map[string]any{"k": 1}, "auth", map[string]any{"type": 1}, "retry_schedule", []any{"5m", "soon", 3},
			"failure_handling", map[string]any{"suspend_after": "never", "other": 1}, "secrets", []any{7}), 400,
			[]string{"event_types[1]", "event_types[3]", "headers.X-A", "headers.X-B[1]", "filter.k", "auth.type",
				"retry_schedule[1]", "retry_schedule[2]", "failure_handling.suspend_after", "failure_handling.other", "secrets[0]"}},
		{"required fields", map[string]any{}, 400, []string{"name", "url", "event_types"}},
		{"name too long", merge(base, "name", strings.Repeat("n", 256)), 400, []string{"name"}},
		{"description too long", merge(base, "description", strings.Repeat("d", 1001)), 400, []string{"description"}},
		{"url http refused", merge(base, "url", "http://example.com/x"), 400, []string{"url"}},
		{"url relative", merge(base, "url", "/x"), 400, []string{"url"}},
		{"url loopback refused", merge(base, "url", "https://127.0.0.1/x"), 400, []string{"url"}},
		{"url metadata refused", merge(base, "url", "https://169.254.169.254/latest"), 400, []string{"url"}},
		{"url resolving private refused", merge(base, "url", "https://db.private.test/x"), 400, []string{"url"}},
		{"url localhost refused", merge(base, "url", "https://localhost:8443/x"), 400, []string{"url"}},
		{"url too long", merge(base, "url", "https://example.com/"+strings.Repeat("p", 2048)), 400, []string{"url"}},
		{"event types empty", merge(base, "event_types", []string{}), 400, []string{"event_types"}},
		{"event types bad items", merge(base, "event_types", []string{"ok", "bad type", "x.**"}), 400, []string{"event_types[1]", "event_types[2]"}},
		{"event types wrong type beside a bad item", merge(base, "event_types", []any{"ok", 3, "bad type", nil}), 400,
			[]string{"event_types[1]", "event_types[2]", "event_types[3]"}},
		{"event types too many", merge(base, "event_types", manyTypes(101)), 400, []string{"event_types"}},
		{"headers rules", merge(base, "headers", map[string]any{"X Bad": []string{"v"}, "X-Val": []string{"a\nb"},
			"Host": []string{"h"}, "webhook-id": []string{"x"}, "Content-Type": []string{"text/plain"}}), 400,
			[]string{"headers.X Bad", "headers.X-Val[0]", "headers.Host", "headers.webhook-id", "headers.Content-Type"}},
		{"auth basic incomplete", merge(base, "auth", map[string]any{"type": "basic", "username": "u"}), 400, []string{"auth.password"}},
		{"auth bearer incomplete", merge(base, "auth", map[string]any{"type": "bearer"}), 400, []string{"auth.token"}},
		{"auth unknown type and field", merge(base, "auth", map[string]any{"type": "digest", "realm": "x"}), 400, []string{"auth.type", "auth.realm"}},
		{"secrets three and bad", merge(base, "secrets", []string{"short", "whsec_???", "0123456789abcdefgh"}), 400,
			[]string{"secrets", "secrets[0]", "secrets[1]"}},
		{"timeout and retries range", merge(base, "timeout_ms", 999, "max_retries", 11), 400, []string{"timeout_ms", "max_retries"}},
		{"timeout high", merge(base, "timeout_ms", 30001), 400, []string{"timeout_ms"}},
		{"retry schedule bad", merge(base, "retry_schedule", []string{"0s", "-1m", "25h"}), 400,
			[]string{"retry_schedule[0]", "retry_schedule[1]", "retry_schedule[2]"}},
		{"suspend after negative", merge(base, "failure_handling", map[string]any{"suspend_after": "-1h"}), 400, []string{"failure_handling.suspend_after"}},
		{"rate limit negative", merge(base, "rate_limit", -1), 400, []string{"rate_limit"}},
		{"max in flight 0", merge(base, "max_in_flight", 0), 400, []string{"max_in_flight"}},
		{"max in flight too high", merge(base, "max_in_flight", 1001), 400, []string{"max_in_flight"}},
		{"max in flight not an integer", merge(base, "max_in_flight", 1.5), 400, []string{"max_in_flight"}},
		{"filter empty value", merge(base, "filter", map[string]string{"party_id": ""}), 400, []string{"filter.party_id"}},
		{"everything valid", merge(base, "url", "https://example.com/full", "description", "d", "enabled", false,
			"event_types", []string{"*", "all", "Unit.*", "log.door_was_opened"}, "filter", map[string]string{"party_id": "42"},
			"headers", map[string][]string{"X-Tenant": {"acme"}}, "auth", map[string]string{"type": "basic", "username": "u", "password": "p"},
			"secrets", []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "plain-secret-0123456789"}, "timeout_ms", 1000, "max_retries", 0,
			"retry_schedule", []string{"1s", "24h"}, "grouped", true, "continue_on_failure", true,
			"failure_handling", map[string]string{"suspend_after": "0s"}, "rate_limit", 5, "max_in_flight", 1000), 201, nil},
		{"nulls are defaults", merge(base, "url", "https://example.com/nulls", "description", nil, "auth", nil, "filter", nil,
			"headers", nil, "timeout_ms", nil, "retry_schedule", nil, "secrets", nil, "failure_handling", nil, "rate_limit", nil, "max_in_flight", nil), 201, nil},
		{"continue on failure without grouped", merge(base, "url", "https://example.com/cof", "continue_on_failure", true), 201, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.do("GET", "/v1/tenants/acme/webhooks?limit=1000", rootToken, nil).want(t, 200).data()
			r := e.do("POST", "/v1/tenants/acme/webhooks", rootToken, tt.body)
			if tt.fields != nil || tt.status >= 400 {
				r.wantFields(t, tt.status, tt.fields...)
				after := e.do("GET", "/v1/tenants/acme/webhooks?limit=1000", rootToken, nil).want(t, 200).data()
				if len(after) != len(before) {
					t.Fatalf("a rejected create stored a webhook")
				}
				return
			}
			r.want(t, tt.status)
		})
	}
}

func manyTypes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t%d", i)
	}
	return out
}

func TestWebhookLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	r := e.do("POST", "/v1/tenants/acme/webhooks", rootToken, map[string]any{
		"name": "orders", "url": "https://Example.com:443/Orders", "event_types": []string{"Unit.*", "Unit.*", "log.x"},
		"auth":    map[string]string{"type": "basic", "username": "erp", "password": "s3cret"},
		"headers": map[string][]string{"X-Tenant": {"acme"}},
	}).want(t, 201)
	id := r.str("id")
	if !strings.HasPrefix(id, "wh_") {
		t.Fatalf("id = %q", id)
	}
	if r.Header.Get("Location") != "/v1/tenants/acme/webhooks/"+id {
		t.Errorf("Location = %q", r.Header.Get("Location"))
	}
	secrets, _ := r.field("secrets").([]any)
	if len(secrets) != 1 || !strings.HasPrefix(secrets[0].(string), "whsec_") {
		t.Fatalf("create answer secrets = %v", r.field("secrets"))
	}
	for field, want := range map[string]any{"enabled": true, "timeout_ms": 10000.0, "max_retries": 6.0, "grouped": false,
		"continue_on_failure": false, "suspended": false, "suspended_at": nil, "failure_handling.suspend_after": "120h",
		"retry_schedule": nil, "rate_limit": nil, "max_in_flight": nil, "auth.type": "basic", "auth.username": "erp", "auth.password": nil, "description": ""} {
		if got := r.field(field); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", field, got, want)
		}
	}
	if got := fmt.Sprint(r.field("event_types")); got != "[Unit.* log.x]" {
		t.Errorf("event_types = %s, want duplicates dropped", got)
	}
	for _, ts := range []string{"created_at", "updated_at"} {
		if _, err := time.Parse(time.RFC3339, r.str(ts)); err != nil || !strings.HasSuffix(r.str(ts), "Z") {
			t.Errorf("%s = %q, want RFC 3339 UTC", ts, r.str(ts))
		}
	}

	g := e.do("GET", "/v1/tenants/acme/webhooks/"+id, rootToken, nil).want(t, 200)
	if g.field("secrets") != nil || strings.Contains(string(g.Body), "s3cret") {
		t.Fatalf("read shows secrets or password: %s", g.Body)
	}

	// Same normalised URL (and no filter): 409 with the existing id.
	c := e.do("POST", "/v1/tenants/acme/webhooks", rootToken, merge(hook("x"), "url", "https://example.com/Orders"))
	c.want(t, 409)
	if c.str("existing_id") != id {
		t.Fatalf("existing_id = %q, want %q", c.str("existing_id"), id)
	}
	e.do("POST", "/v1/tenants/acme/webhooks", rootToken, merge(hook("x"), "url", "https://example.com/orders")).want(t, 201)

	// PUT: left-out fields go back to their defaults, secrets stay.
	p := e.do("PUT", "/v1/tenants/acme/webhooks/"+id, rootToken, map[string]any{
		"name": "orders2", "url": "https://example.com/Orders", "event_types": []string{"*"}, "timeout_ms": 2000,
	}).want(t, 200)
	if p.field("auth") != nil || fmt.Sprint(p.field("headers")) != "map[]" || p.field("timeout_ms") != 2000.0 || p.str("name") != "orders2" {
		t.Fatalf("PUT did not replace: %s", p.Body)
	}
	s := e.do("GET", "/v1/tenants/acme/webhooks/"+id+"/secrets", rootToken, nil).want(t, 200)
	if fmt.Sprint(s.field("secrets")) != fmt.Sprint(secrets) {
		t.Fatalf("secrets after PUT = %v, want %v", s.field("secrets"), secrets)
	}
	e.do("PUT", "/v1/tenants/acme/webhooks/"+id, rootToken, map[string]any{"name": "x"}).wantFields(t, 400, "url", "event_types")
	e.do("PUT", "/v1/tenants/acme/webhooks/"+id, rootToken, merge(hook("p"), "url", "https://example.com/orders")).want(t, 409)
	e.do("PUT", "/v1/tenants/acme/webhooks/wh_nope", rootToken, hook("p")).want(t, 404)

	// PATCH: given fields replace, the rest stays; auth null clears.
	e.do("PATCH", "/v1/tenants/acme/webhooks/"+id, rootToken, map[string]any{"auth": map[string]string{"type": "bearer", "token": "t0k"}}).want(t, 200)
	pa := e.do("PATCH", "/v1/tenants/acme/webhooks/"+id, rootToken, map[string]any{"description": "now", "enabled": false}).want(t, 200)
	if pa.str("auth.type") != "bearer" || pa.str("name") != "orders2" || pa.field("enabled") != false || pa.str("description") != "now" {
		t.Fatalf("PATCH: %s", pa.Body)
	}
	if pa.field("auth.username") != nil {
		t.Fatalf("bearer auth shows a username: %s", pa.Body)
	}
	pa = e.do("PATCH", "/v1/tenants/acme/webhooks/"+id, rootToken, map[string]any{"auth": nil}).want(t, 200)
	if pa.field("auth") != nil {
		t.Fatalf("auth null did not clear: %s", pa.Body)
	}
	e.do("PATCH", "/v1/tenants/acme/webhooks/"+id, rootToken, map[string]any{"timeout_ms": 5, "name": ""}).wantFields(t, 400, "timeout_ms", "name")
	e.do("PATCH", "/v1/tenants/acme/webhooks/"+id, rootToken, map[string]any{"suspended": false}).wantFields(t, 400, "suspended")
	if got := e.do("GET", "/v1/tenants/acme/webhooks/"+id, rootToken, nil).want(t, 200); got.field("timeout_ms") != 2000.0 {
		t.Fatalf("a rejected PATCH changed the webhook: %s", got.Body)
	}

	// Unsuspend answers the webhook.
	u := e.do("POST", "/v1/tenants/acme/webhooks/"+id+"/unsuspend", rootToken, nil).want(t, 200)
	if u.field("suspended") != false || u.field("suspended_at") != nil {
		t.Fatalf("unsuspend: %s", u.Body)
	}
	e.do("POST", "/v1/tenants/acme/webhooks/"+id+"/unsuspend", rootToken, `{"x":1}`).wantFields(t, 400, "x")

	e.do("DELETE", "/v1/tenants/acme/webhooks/"+id, rootToken, nil).want(t, 204)
	e.do("GET", "/v1/tenants/acme/webhooks/"+id, rootToken, nil).want(t, 404)
	e.do("DELETE", "/v1/tenants/acme/webhooks/"+id, rootToken, nil).want(t, 404)
	e.do("PATCH", "/v1/tenants/acme/webhooks/"+id, rootToken, map[string]any{}).want(t, 404)
}

func TestPatchAddRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	id := e.mustWebhook("acme", merge(hook("p"), "event_types", []string{"a", "b", "c"},
		"headers", map[string][]string{"X-One": {"1"}, "X-Two": {"2"}}))
	path := "/v1/tenants/acme/webhooks/" + id
	tests := []struct {
		name        string
		body        map[string]any
		wantTypes   string
		wantHeaders string
	}{
		{"add and remove types", map[string]any{"add_event_types": []string{"d", "a"}, "remove_event_types": []string{"b"}},
			"[a c d]", "map[X-One:[1] X-Two:[2]]"},
		{"item in both stays", map[string]any{"add_event_types": []string{"c"}, "remove_event_types": []string{"c", "nope"}},
			"[a d c]", "map[X-One:[1] X-Two:[2]]"},
		{"replace then add", map[string]any{"event_types": []string{"x"}, "add_event_types": []string{"y"}},
			"[x y]", "map[X-One:[1] X-Two:[2]]"},
		{"headers merged per name", map[string]any{"add_headers": map[string][]string{"x-one": {"uno"}, "X-Three": {"3"}}},
			"[x y]", "map[X-Three:[3] X-Two:[2] x-one:[uno]]"},
		{"remove headers case-insensitive, then add", map[string]any{"remove_headers": []string{"X-TWO", "X-Three"}, "add_headers": map[string][]string{"X-Three": {"drei"}}},
			"[x y]", "map[X-Three:[drei] x-one:[uno]]"},
	}
	for _, tt := range tests { // sequential: each builds on the last
		r := e.do("PATCH", path, rootToken, tt.body).want(t, 200)
		if got := fmt.Sprint(r.field("event_types")); got != tt.wantTypes {
			t.Errorf("%s: event_types = %s, want %s", tt.name, got, tt.wantTypes)
		}
		if got := fmt.Sprint(r.field("headers")); got != tt.wantHeaders {
			t.Errorf("%s: headers = %s, want %s", tt.name, got, tt.wantHeaders)
		}
	}
	// The result is validated like a create.
	e.do("PATCH", path, rootToken, map[string]any{"remove_event_types": []string{"x", "y"}}).wantFields(t, 400, "event_types")
	e.do("PATCH", path, rootToken, map[string]any{"add_headers": map[string][]string{"Host": {"h"}}, "add_event_types": []string{"bad type"}}).
		wantFields(t, 400, "headers.Host", "event_types[2]")
	e.do("PATCH", path, rootToken, map[string]any{"add_headers": []string{"X"}, "remove_headers": "X"}).
		wantFields(t, 400, "add_headers", "remove_headers")
	// add_* are PATCH only.
	e.do("PUT", path, rootToken, merge(hook("p"), "add_event_types", []string{"z"})).wantFields(t, 400, "add_event_types")
}

func TestSecretsRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	e.api.Now = func() time.Time { return now }
	e.mustTenant("acme")
	first := "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	id := e.mustWebhook("acme", merge(hook("s"), "secrets", []string{first}))
	path := "/v1/tenants/acme/webhooks/" + id + "/secrets"
	secrets := func(r *resp) []string {
		var out []string
		for _, v := range r.field("secrets").([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if got := secrets(e.do("GET", path, rootToken, nil).want(t, 200)); !slices.Equal(got, []string{first}) {
		t.Fatalf("secrets = %v", got)
	}
	r := e.do("POST", path+"/rotate", rootToken, nil).want(t, 200)
	got := secrets(r)
	if len(got) != 2 || got[1] != first || !strings.HasPrefix(got[0], "whsec_") {
		t.Fatalf("after rotate = %v, want [new %s]", got, first)
	}
	second := got[0]
	mine := "my-own-plain-secret-123"
	got = secrets(e.do("POST", path+"/rotate", rootToken, map[string]string{"secret": mine}).want(t, 200))
	if !slices.Equal(got, []string{mine, second}) {
		t.Fatalf("after second rotate = %v, want at most two, newest first", got)
	}
	e.do("POST", path+"/rotate", rootToken, map[string]string{"secret": "short"}).wantFields(t, 400, "secret")
	e.do("POST", path+"/rotate", rootToken, map[string]any{"secret": 5, "x": 1}).wantFields(t, 400, "secret", "x")
	// After 24 h the previous secret is gone.
	now = now.Add(24*time.Hour + time.Second)
	if got := secrets(e.do("GET", path, rootToken, nil).want(t, 200)); !slices.Equal(got, []string{mine}) {
		t.Fatalf("after 24h = %v, want [%s]", got, mine)
	}
	e.do("GET", "/v1/tenants/acme/webhooks/wh_nope/secrets", rootToken, nil).want(t, 404)
}

func TestListWebhooksPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	for i := range 7 {
		e.mustWebhook("acme", hook(fmt.Sprintf("p%d", i)))
	}
	seen := map[string]int{}
	cursor, pages, created := "", 0, 0
	for {
		r := e.do("GET", "/v1/tenants/acme/webhooks?limit=3&cursor="+cursor, rootToken, nil).want(t, 200)
		for _, w := range r.data() {
			seen[w["id"].(string)]++
		}
		pages++
		if created < 2 { // created while walking: must show up once, at the end
			e.mustWebhook("acme", hook(fmt.Sprintf("new%d", created)))
			created++
		}
		next, ok := r.JSON["next_cursor"].(string)
		if !ok {
			if r.JSON["next_cursor"] != nil {
				t.Fatalf("next_cursor = %v", r.JSON["next_cursor"])
			}
			break
		}
		cursor = next
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 9 {
		t.Fatalf("saw %d webhooks, want 9", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", id, n)
		}
	}
	r := e.do("GET", "/v1/tenants/acme/webhooks", rootToken, nil).want(t, 200)
	if len(r.data()) != 9 || r.JSON["next_cursor"] != nil {
		t.Fatalf("default page: %d items, next %v", len(r.data()), r.JSON["next_cursor"])
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "limit=-1"} {
		e.do("GET", "/v1/tenants/acme/webhooks?"+q, rootToken, nil).wantFields(t, 400, "limit")
	}
	e.do("GET", "/v1/tenants/acme/webhooks?cursor=!!!", rootToken, nil).wantFields(t, 400, "cursor")
	e.do("GET", "/v1/tenants/acme/webhooks?cursor=IT8_", rootToken, nil).wantFields(t, 400, "cursor")
	if r := e.do("GET", "/v1/tenants/acme/webhooks?cursor=%zz", rootToken, nil).want(t, 400); !strings.Contains(r.str("detail"), "query") {
		t.Fatalf("malformed query: %s", r.Body)
	}
	e.do("GET", "/v1/tenants/acme/webhooks?limit=1000", rootToken, nil).want(t, 200)
}

func TestListWebhooksFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	a := e.mustWebhook("acme", map[string]any{"name": "Orders Sync", "url": "https://a.example.com/Hook", "event_types": []string{"Unit.*"}})
	b := e.mustWebhook("acme", map[string]any{"name": "billing", "url": "https://b.example.com/x", "event_types": []string{"Invoice.Paid"}, "enabled": false})
	c := e.mustWebhook("acme", map[string]any{"name": "all", "url": "https://a.example.com/other", "event_types": []string{"*"}})
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{a, b, c}},
		{"name=orders", []string{a}},
		{"name=L", []string{b, c}},
		{"url=HTTPS://A.EXAMPLE.COM:443/Hook", []string{a}},
		{"url=https://a.example.com/hook", nil},
		{"url_prefix=https://A.example.com", []string{a, c}},
		{"enabled=false", []string{b}},
		{"enabled=true", []string{a, c}},
		{"active=true", []string{a, c}},
		{"suspended=true", nil},
		{"event_type=Unit.Updated", []string{a, c}},
		{"event_type=Invoice.Paid&event_type=Unit.Created", []string{a, b, c}},
		{"event_type=Unit.*", []string{a, c}},
	}
	for _, tt := range tests {
		r := e.do("GET", "/v1/tenants/acme/webhooks?"+tt.query, rootToken, nil).want(t, 200)
		var got []string
		for _, w := range r.data() {
			got = append(got, w["id"].(string))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("?%s = %v, want %v", tt.query, got, tt.want)
		}
	}
	e.do("GET", "/v1/tenants/acme/webhooks?enabled=maybe&active=2", rootToken, nil).wantFields(t, 400, "enabled", "active")
}

func TestWebhookTestEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	id := e.mustWebhook("acme", hook("t"))
	var gotType string
	var gotPayload json.RawMessage
	e.deliv.TestFunc = func(_ context.Context, w *hookd.Webhook, typ string, payload json.RawMessage, _ map[string][]string) (*hookd.Attempt, error) {
		gotType, gotPayload = typ, payload
		return &hookd.Attempt{ID: "att_1", MessageID: "msg_1", WebhookID: w.ID, Number: 1, Trigger: hookd.TriggerTest,
			StartedAt: time.Now(), DurationMS: 12, StatusCode: 200, ResponseBody: "ok", Success: true}, nil
	}
	path := "/v1/tenants/acme/webhooks/" + id + "/test"
	r := e.do("POST", path, rootToken, nil).want(t, 200)
	if gotType != "webhook.test" || r.field("success") != true || r.field("status_code") != 200.0 || r.str("response_body") != "ok" ||
		r.field("duration_ms") != 12.0 || r.field("error") != nil {
		t.Fatalf("test answer %s (type %q)", r.Body, gotType)
	}
	e.do("POST", path, rootToken, map[string]any{"type": "Unit.Updated", "payload": map[string]any{"id": 17}}).want(t, 200)
	if gotType != "Unit.Updated" || string(gotPayload) != `{"id":17}` {
		t.Fatalf("type %q payload %s", gotType, gotPayload)
	}
	e.do("POST", path, rootToken, map[string]any{"type": "bad type", "extra": 1}).wantFields(t, 400, "type", "extra")
	e.do("POST", path, rootToken, map[string]any{"payload": strings.Repeat("x", 2000)}).wantFields(t, 413, "payload")
	e.do("POST", "/v1/tenants/acme/webhooks/wh_nope/test", rootToken, nil).want(t, 404)

	// Without a delivery engine: 503.
	api := newAPI(t, e.db, nil)
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	e2 := &env{t: t, srv: srv}
	e2.do("POST", path, rootToken, nil).want(t, 503)
}

func TestRecover(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	id := e.mustWebhook("acme", hook("r"))
	path := "/v1/tenants/acme/webhooks/" + id + "/recover"
	r := e.do("POST", path, rootToken, map[string]string{"since": "2026-01-01T00:00:00Z"}).want(t, 202)
	if r.field("count") != 0.0 {
		t.Fatalf("count = %v", r.field("count"))
	}
	e.do("POST", path, rootToken, map[string]any{}).wantFields(t, 400, "since")
	e.do("POST", path, rootToken, nil).want(t, 400)
	e.do("POST", path, rootToken, map[string]any{"since": "yesterday", "until": 5}).wantFields(t, 400, "since", "until")
	e.do("POST", path, rootToken, map[string]any{"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}).wantFields(t, 400, "until")
	e.do("POST", "/v1/tenants/acme/webhooks/wh_nope/recover", rootToken, map[string]string{"since": "2026-01-01T00:00:00Z"}).want(t, 404)
}

// Every webhook shows its number, 1, 2, … in its tenant, never reused;
// number is read-only and survives PUT and PATCH.
func TestWebhookNumber(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	e.mustTenant("other")
	base := "/v1/tenants/acme/webhooks"
	first := e.do("POST", base, rootToken, hook("a")).want(t, 201)
	second := e.do("POST", base, rootToken, hook("b")).want(t, 201)
	if first.field("number") != 1.0 || second.field("number") != 2.0 {
		t.Fatalf("numbers = %v, %v; want 1, 2", first.field("number"), second.field("number"))
	}
	if o := e.do("POST", "/v1/tenants/other/webhooks", rootToken, hook("a")).want(t, 201); o.field("number") != 1.0 {
		t.Fatalf("first number of another tenant = %v, want 1", o.field("number"))
	}
	id := second.str("id")
	e.do("POST", base, rootToken, merge(hook("c"), "number", 7)).wantFields(t, 400, "number")
	e.do("PATCH", base+"/"+id, rootToken, map[string]any{"number": 1}).wantFields(t, 400, "number")
	if p := e.do("PUT", base+"/"+id, rootToken, hook("b2")).want(t, 200); p.field("number") != 2.0 {
		t.Fatalf("number after PUT = %v, want 2", p.field("number"))
	}
	e.do("DELETE", base+"/"+id, rootToken, nil).want(t, 204)
	if n := e.do("POST", base, rootToken, hook("d")).want(t, 201); n.field("number") != 3.0 {
		t.Fatalf("number after deleting number 2 = %v, want 3", n.field("number"))
	}
	l := e.do("GET", base, rootToken, nil).want(t, 200)
	var nums []any
	for _, w := range l.data() {
		nums = append(nums, w["number"])
	}
	if fmt.Sprint(nums) != "[1 3]" {
		t.Fatalf("listed numbers = %v, want [1 3]", nums)
	}
}

// A duplicate is the same normalised URL and the same filter: one URL may
// be registered once per filter (per party), and ?url= lists them all.
func TestWebhookDuplicateNeedsSameFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	base := "/v1/tenants/acme/webhooks"
	p42 := e.mustWebhook("acme", merge(hook("shared"), "filter", map[string]string{"party_id": "42"}))
	p43 := e.mustWebhook("acme", merge(hook("shared"), "filter", map[string]string{"party_id": "43"}))
	none := e.mustWebhook("acme", hook("shared"))
	for _, tt := range []struct {
		filter any
		want   string
	}{{map[string]string{"party_id": "42"}, p42}, {map[string]string{}, none}, {nil, none}} {
		c := e.do("POST", base, rootToken, merge(hook("x"), "url", "https://EXAMPLE.com/shared", "filter", tt.filter)).want(t, 409)
		if c.str("existing_id") != tt.want {
			t.Fatalf("filter %v: existing_id = %q, want %q", tt.filter, c.str("existing_id"), tt.want)
		}
	}
	// Changing a filter to another's is a conflict as well.
	c := e.do("PATCH", base+"/"+p43, rootToken, map[string]any{"filter": map[string]string{"party_id": "42"}}).want(t, 409)
	if c.str("existing_id") != p42 {
		t.Fatalf("PATCH: existing_id = %q, want %q", c.str("existing_id"), p42)
	}
	l := e.do("GET", base+"?url=https://example.com/shared", rootToken, nil).want(t, 200)
	if len(l.data()) != 3 {
		t.Fatalf("webhooks of the URL: %s", l.Body)
	}
}
