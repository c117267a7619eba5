package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/httpapi"
)

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("GET", "/healthz", "", nil).want(t, 200)
	e.do("GET", "/readyz", "", nil).want(t, 200)
	e.do("GET", "/v1/tenants", rootToken, nil).want(t, 200)
	m := e.do("GET", "/metrics", "", nil).want(t, 200)
	if !strings.Contains(string(m.Body), `hookd_http_requests_total{method="GET",route="/v1/tenants",code="200"} 1`) {
		t.Fatalf("metrics:\n%s", m.Body)
	}

	o := e.do("GET", "/openapi.json", "", nil).want(t, 200)
	var doc struct {
		OpenAPI    string `json:"openapi"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(o.Body, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	// Its paths are the routes: TestOpenAPIDescribesTheRoutes.
	for _, s := range []string{"Problem", "Webhook", "WebhookCreate", "WebhookPatch", "Event", "EventInput", "Message", "Attempt", "Tenant", "APIKey", "EventType", "EventTypeCreate", "EventTypeUpdate", "EventTypeList"} {
		if doc.Components.Schemas[s] == nil {
			t.Errorf("openapi.json lacks schema %s", s)
		}
	}
	// Every $ref points at something that exists.
	var all any
	json.Unmarshal(o.Body, &all)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, v := range x {
				if ref, ok := v.(string); ok && k == "$ref" && resolve(all, ref) == nil {
					t.Errorf("dangling $ref %s", ref)
				}
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(all)
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("GET", "/nope", "", nil).want(t, 404)
	e.do("GET", "/v1/tenants/acme/nothing", rootToken, nil).want(t, 404)
	r := e.do("PATCH", "/v1/tenants", rootToken, nil).want(t, 405)
	if !strings.Contains(r.Header.Get("Allow"), "GET") {
		t.Fatalf("Allow = %q", r.Header.Get("Allow"))
	}
}

func TestStrictBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustTenant("acme")
	path := "/v1/tenants/acme/webhooks"
	r := e.do("POST", path, rootToken, `{"name": "x",}`).want(t, 400)
	if !strings.Contains(r.str("detail"), "malformed JSON") {
		t.Fatalf("detail = %q", r.str("detail"))
	}
	if r := e.do("POST", path, rootToken, `"a string"`).want(t, 400); !strings.Contains(r.str("detail"), "object") {
		t.Fatalf("detail = %q", r.str("detail"))
	}
	e.do("POST", path, rootToken, `{"name":"x"}`, "Content-Type", "text/plain").want(t, 415)
	e.do("POST", path, rootToken, `{"name":"`+strings.Repeat("x", 2<<20)+`"}`).want(t, 413)
	e.do("POST", path, rootToken, `{"name":"x"} {"name":"y"}`).want(t, 400)
}

// TestPanicRecovered: a panic in a handler is a logged 500, not a dropped
// connection.
func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	api := &httpapi.Server{Store: panicStore{MustOpenDB(t)}, RootTokenHash: "",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 500 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d, %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !strings.Contains(logs.String(), "panic") {
		t.Fatalf("panic not logged: %s", logs.String())
	}
}

// resolve follows a local JSON pointer ("#/components/schemas/X").
func resolve(doc any, ref string) any {
	v := doc
	for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}
