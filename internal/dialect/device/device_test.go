package device_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dialect"
	"github.com/hookd/hookd/internal/dialect/device"
	"github.com/hookd/hookd/internal/dialect/dialecttest"
)

func start(t *testing.T, opts dialecttest.Options) (*dialecttest.Server, string) {
	t.Helper()
	opts.Dialects = []func(dialect.Env) dialect.API{func(e dialect.Env) dialect.API { return device.New(e) }}
	s := dialecttest.Start(t, opts)
	s.Tenant("acme")
	return s, s.Key("acme", hookd.ScopeAdmin)
}

// body is a valid webhook with every field of the seed.
func body(url string) map[string]any {
	return map[string]any{
		"url":         url,
		"secret":      "0123456789abcdef-device",
		"status":      "active",
		"timeout":     5000,
		"headers":     `{"X-Site": "berlin-3"}`,
		"description": "front door",
		"event_types": []string{"log.door_was_opened", "log.door_was_closed"},
		"max_retries": 3,
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func wantError(t *testing.T, r *dialecttest.Resp, status int, msg string) {
	t.Helper()
	r.WantJSON(t, status, map[string]string{"error": msg})
}

// The seed's create: {"item_uid": …}; GET shows the webhook without its
// secret; it is an ordinary webhook in /v1.
func TestCreateGetPutDelete(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	s.Do("POST", "/webhooks", key, body("https://device.example.com/hook")).WantJSON(t, 200, `{"item_uid": 1}`)
	want := `{"item_uid": 1, "url": "https://device.example.com/hook", "status": "active", "timeout": 5000,
		"headers": "{\"X-Site\":\"berlin-3\"}", "description": "front door",
		"event_types": ["log.door_was_opened", "log.door_was_closed"], "max_retries": 3}`
	s.Do("GET", "/webhooks/1", key, nil).WantJSON(t, 200, want)
	s.Do("GET", "/webhooks", key, nil).WantJSON(t, 200, "["+want+"]")
	n := s.WebhookByNumber("acme", 1)
	if n["enabled"] != true || n["timeout_ms"] != float64(5000) || n["max_retries"] != float64(3) || n["name"] != "front door" ||
		fmt.Sprint(n["headers"]) != "map[X-Site:[berlin-3]]" {
		t.Fatalf("the native webhook %v", n)
	}
	if got := s.Secrets("acme", n["id"].(string)); len(got) != 1 || got[0] != "0123456789abcdef-device" {
		t.Fatalf("secrets %q", got)
	}

	// The fewest fields: a secret is generated, timeout 10000, no headers.
	s.Do("POST", "/webhooks", key, `{"url": "http://device.example.com/min", "status": "disabled",
		"event_types": ["log.device_booted"], "max_retries": 1}`).WantJSON(t, 200, `{"item_uid": 2}`)
	s.Do("GET", "/webhooks/2", key, nil).WantJSON(t, 200, `{"item_uid": 2, "url": "http://device.example.com/min",
		"status": "disabled", "timeout": 10000, "headers": "{}", "description": "", "event_types": ["log.device_booted"], "max_retries": 1}`)
	n2 := s.WebhookByNumber("acme", 2)
	if n2["enabled"] != false || n2["name"] != "device.example.com log.device_booted" ||
		!strings.HasPrefix(s.Secrets("acme", n2["id"].(string))[0], "whsec_") {
		t.Fatalf("the second native webhook %v", n2)
	}

	// PUT replaces the seed's fields; a secret left out stays.
	s.Do("PUT", "/webhooks/2", key, `{"url": "https://device.example.com/moved", "status": "active",
		"event_types": ["log.tamper_event"], "max_retries": 5, "timeout": 30000}`).WantJSON(t, 200, `{"item_uid": 2}`)
	s.Do("GET", "/webhooks/2", key, nil).WantJSON(t, 200, `{"item_uid": 2, "url": "https://device.example.com/moved",
		"status": "active", "timeout": 30000, "headers": "{}", "description": "", "event_types": ["log.tamper_event"], "max_retries": 5}`)
	if n := s.WebhookByNumber("acme", 2); n["name"] != "device.example.com log.tamper_event" {
		t.Fatalf("a made name is made anew: %v", n["name"])
	}
	wantError(t, s.Do("PUT", "/webhooks/2", key, body("https://device.example.com/hook")), 400, "Webhook with the same URL already exists")
	wantError(t, s.Do("PUT", "/webhooks/9", key, body("https://device.example.com/x")), 404, "Webhook not found")

	s.Do("DELETE", "/webhooks/1", key, nil).WantJSON(t, 200, `{"item_uid": 1}`)
	wantError(t, s.Do("GET", "/webhooks/1", key, nil), 404, "Webhook not found")
	wantError(t, s.Do("DELETE", "/webhooks/1", key, nil), 404, "Webhook not found")
	wantError(t, s.Do("GET", "/webhooks/abc", key, nil), 404, "Webhook not found")
	// A webhook whose types are not the device's is none of its webhooks.
	s.Do("POST", "/v1/tenants/acme/webhooks", key, map[string]any{"name": "n", "url": "https://n.example.com/",
		"event_types": []string{"Unit.*"}}).Want(t, 201)
	wantError(t, s.Do("GET", "/webhooks/3", key, nil), 404, "Webhook not found")
	if r := s.Do("GET", "/webhooks", key, nil).Want(t, 200); r.Len("") != 1 {
		t.Fatalf("list %s", r.Body)
	}
}

// One error per answer, the first found, in the seed's words.
func TestValidation(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true, HTTPSOnly: true})
	ok := body("https://device.example.com/hook")
	for _, c := range []struct {
		body any
		msg  string
	}{
		{"", "Wrong JSON body"},
		{`{"url": `, "Wrong JSON body"},
		{`[1, 2]`, "Wrong JSON body"},
		{with(ok, "name", "x"), "Wrong JSON body"},
		{with(ok, "url", nil), "Wrong JSON body: no value for url"},
		{with(ok, "status", nil), "Wrong JSON body: no value for status"},
		{with(ok, "event_types", nil), "Wrong JSON body: no value for event_types"},
		{with(ok, "max_retries", nil), "Wrong JSON body: no value for max_retries"},
		{with(ok, "url", nil, "max_retries", nil), "Wrong JSON body: no value for url"},
		{with(ok, "url", 5), "Wrong JSON body: value url was of the wrong type"},
		{with(ok, "secret", 5), "Wrong JSON body: value secret was of the wrong type"},
		{with(ok, "status", true), "Wrong JSON body: value status was of the wrong type"},
		{with(ok, "timeout", "5000"), "Wrong JSON body: value timeout was of the wrong type"},
		{with(ok, "timeout", 1.5), "Wrong JSON body: value timeout was of the wrong type"},
		{with(ok, "headers", map[string]string{"X": "y"}), "Wrong JSON body: value headers was of the wrong type"},
		{with(ok, "headers", `["X"]`), "Wrong JSON body: value headers was of the wrong type"},
		{with(ok, "headers", `{"X": 1}`), "Wrong JSON body: value headers was of the wrong type"},
		{with(ok, "description", []string{}), "Wrong JSON body: value description was of the wrong type"},
		{with(ok, "event_types", "log.door_was_opened"), "Wrong JSON body: value event_types was of the wrong type"},
		{with(ok, "event_types", []any{1}), "Wrong JSON body: value event_types was of the wrong type"},
		{with(ok, "max_retries", 1e10), "Wrong JSON body: value max_retries was of the wrong type"},
		{with(ok, "url", "ftp://device.example.com/"), "Invalid URL format. Must be HTTP URL"},
		{with(ok, "url", "h:/"), "Invalid URL format. Must be HTTP URL"},
		{with(ok, "url", "http://device.example.com/"), "Invalid URL format. Must be HTTP URL"}, // https only here
		{with(ok, "url", "https://device.example.com/"+strings.Repeat("a", 1980)), "Invalid URL format. Must be HTTP URL"},
		{with(ok, "secret", "too-short"), "Invalid secret"},
		{with(ok, "secret", strings.Repeat("s", 129)), "Invalid secret"},
		{with(ok, "secret", "sixteen chars \u00e9\u00e9"), "Invalid secret"},
		{with(ok, "status", "on"), "Status must be 'active' or 'disabled'"},
		{with(ok, "timeout", 999), "Invalid timeout"},
		{with(ok, "timeout", 30001), "Invalid timeout"},
		{with(ok, "headers", `{"Host": "x"}`), "Invalid header name"},
		{with(ok, "headers", `{"Bad Name": "x"}`), "Invalid header name"},
		{with(ok, "headers", `{"X-A": "a\nb"}`), "Invalid header value"},
		{with(ok, "description", strings.Repeat("d", 1001)), "Invalid description"},
		{with(ok, "description", "nul \u0000"), "Invalid description"},
		{with(ok, "event_types", []string{}), "Invalid event types"},
		{with(ok, "event_types", []string{"log.door_was_opened", "Unit.Updated"}), "Invalid event types"},
		{with(ok, "max_retries", 0), "Max retries must be between 1 and 5"},
		{with(ok, "max_retries", 6), "Max retries must be between 1 and 5"},
		// The first found in the seed's order of fields.
		{with(ok, "max_retries", 9, "status", "on", "timeout", 1), "Status must be 'active' or 'disabled'"},
		{with(ok, "max_retries", 9, "headers", `{"Host": "x"}`), "Invalid header name"},
	} {
		wantError(t, s.Do("POST", "/webhooks", key, c.body), 400, c.msg)
	}
	if r := s.Do("GET", "/webhooks", key, nil).Want(t, 200); r.Len("") != 0 {
		t.Fatalf("refused bodies stored webhooks: %s", r.Body)
	}

	// A second webhook with the URL, whatever the first's filter.
	s.Do("POST", "/webhooks", key, ok).Want(t, 200)
	wantError(t, s.Do("POST", "/webhooks", key, with(ok, "url", "https://DEVICE.example.com:443/hook")), 400,
		"Webhook with the same URL already exists")
	s.Do("POST", "/v1/tenants/acme/webhooks", key, map[string]any{"name": "n", "url": "https://device.example.com/party",
		"event_types": []string{"*"}, "filter": map[string]string{"party_id": "1"}}).Want(t, 201)
	wantError(t, s.Do("POST", "/webhooks", key, with(ok, "url", "https://device.example.com/party")), 400,
		"Webhook with the same URL already exists")
}

// 401, 403 (writes need admin), 404, 405, 413, 415 as {"error": "…"}.
func TestErrorAnswers(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	ok := body("https://device.example.com/hook")
	wantError(t, s.Do("POST", "/webhooks", "", ok), 401, "Log In")
	wantError(t, s.Do("GET", "/webhooks", "hk_unknown", nil), 401, "Log In")
	writer := s.Key("acme", hookd.ScopeWebhooksWrite, hookd.ScopeWebhooksRead, hookd.ScopeWebhooksList)
	wantError(t, s.Do("POST", "/webhooks", writer, ok), 403, "Administrator rights required")
	s.Do("POST", "/webhooks", key, ok).Want(t, 200)
	wantError(t, s.Do("PUT", "/webhooks/1", writer, ok), 403, "Administrator rights required")
	wantError(t, s.Do("DELETE", "/webhooks/1", writer, nil), 403, "Administrator rights required")
	wantError(t, s.Do("POST", "/webhooks/1/test", writer, nil), 403, "Administrator rights required")
	s.Do("GET", "/webhooks/1", writer, nil).Want(t, 200)
	s.Do("GET", "/webhooks", writer, nil).Want(t, 200)
	nobody := s.Key("acme", hookd.ScopeEventsWrite)
	wantError(t, s.Do("GET", "/webhooks", nobody, nil), 403, "the token lacks the scope webhooks:list")
	wantError(t, s.Do("GET", "/webhooks/1", dialecttest.RootToken, nil), 403,
		"the root token belongs to no tenant: use an API key of the tenant")

	wantError(t, s.Do("GET", "/webhooks/1/nothing", key, nil), 404, "Not found")
	r := s.Do("PATCH", "/webhooks/1", key, ok)
	wantError(t, r, 405, "method PATCH is not allowed here")
	if !strings.Contains(r.Header.Get("Allow"), "PUT") {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
	wantError(t, s.Do("POST", "/webhooks", key, `{"url": "`+strings.Repeat("a", dialect.MaxBody)+`"}`), 413,
		"the body is larger than 1048576 bytes")
	wantError(t, s.Do("POST", "/webhooks", key, "url=x", "Content-Type", "text/plain"), 415, "the body must be application/json")
}

// The round: register, publish the device's event through /v1, receive
// it signed with the webhook's secret; test calls with extra headers;
// max_retries as the native retries.
func TestRound(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{})
	rc := s.Receiver()
	b := body(rc.URL + "/device")
	s.Do("POST", "/webhooks", key, b).WantJSON(t, 200, `{"item_uid": 1}`)
	for _, typ := range []string{"log.door_was_opened", "log.tamper_event"} {
		s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": typ, "payload": map[string]any{"door": 3}}).Want(t, 202)
	}
	req := rc.Wait(t, 1)[0]
	dialecttest.Verify(t, "0123456789abcdef-device", req)
	var got struct{ Type string }
	json.Unmarshal(req.Body, &got)
	if got.Type != "log.door_was_opened" || req.Header.Get("X-Site") != "berlin-3" {
		t.Fatalf("delivery %s with X-Site %q", req.Body, req.Header.Get("X-Site"))
	}
	id := s.WebhookByNumber("acme", 1)["id"].(string)
	dialecttest.Eventually(t, "the message to be successful", func() bool {
		r := s.Do("GET", "/v1/tenants/acme/messages?webhook_id="+id, key, nil).Want(t, 200)
		return r.Len("data") == 1 && r.Str("data.0.state") == "successful"
	})

	// A test call, its extra headers over the webhook's for this call.
	r := s.Do("POST", "/webhooks/1/test", key, `{"X-Site": "test-bench", "X-Call": "1"}`).Want(t, 200)
	if r.Get("success") != true || r.Num("status_code") != 204 || r.Num("duration_ms") < 0 || r.Str("error") != "" {
		t.Fatalf("test %s", r.Body)
	}
	reqs := rc.Wait(t, 2)
	if h := reqs[1].Header; h.Get("X-Site") != "test-bench" || h.Get("X-Call") != "1" {
		t.Fatalf("test call's headers %v", h)
	}
	wantError(t, s.Do("POST", "/webhooks/1/test", key, `{"Content-Type": "text/plain"}`), 400, "Invalid header name")
	wantError(t, s.Do("POST", "/webhooks/1/test", key, `{"X-A": "a\u0001"}`), 400, "Invalid header value")
	wantError(t, s.Do("POST", "/webhooks/1/test", key, `["X-A"]`), 400, "Wrong JSON body")
	wantError(t, s.Do("POST", "/webhooks/9/test", key, nil), 404, "Webhook not found")
	rc.Status.Store(http.StatusBadGateway)
	r = s.Do("POST", "/webhooks/1/test", key, nil).Want(t, 200)
	if r.Get("success") != false || r.Num("status_code") != 502 || r.Str("error") != "http_status" {
		t.Fatalf("failed test %s", r.Body)
	}

	// max_retries 1: one retry after the first failure, then failed.
	s.Do("PUT", "/webhooks/1", key, with(b, "max_retries", 1)).Want(t, 200)
	s.Do("POST", "/v1/tenants/acme/events", key, map[string]any{"type": "log.door_was_closed"}).Want(t, 202)
	dialecttest.Eventually(t, "the message to fail", func() bool {
		r := s.Do("GET", "/v1/tenants/acme/messages?state=failed&event_type=log.door_was_closed&webhook_id="+id, key, nil).Want(t, 200)
		return r.Len("data") == 1 && r.Num("data.0.attempt_count") == 2
	})
}

// Every route is in the dialect's OpenAPI document.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	s, _ := start(t, dialecttest.Options{NoEngine: true})
	dialecttest.CheckOpenAPI(t, s.APIs[0])
	s.Do("GET", "/openapi/device.json", "", nil).Want(t, 200)
}

// A tenant with an event type catalogue may subscribe only to declared
// types, as in /v1.
func TestEventTypeCatalogue(t *testing.T) {
	t.Parallel()
	s, key := start(t, dialecttest.Options{NoEngine: true})
	s.Do("POST", "/v1/tenants/acme/event-types", key, map[string]any{"name": "log.door_was_opened"}).Want(t, 201)
	wantError(t, s.Do("POST", "/webhooks", key, body("https://device.example.com/hook")), 400, "Invalid event types")
	s.Do("POST", "/webhooks", key, with(body("https://device.example.com/hook"), "event_types", []string{"log.door_was_opened"})).
		WantJSON(t, 200, `{"item_uid": 1}`)
}
