package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/hookdtest"
	"github.com/hookd/hookd/internal/httpapi"
	"github.com/hookd/hookd/internal/metrics"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/openapitest"
	"github.com/hookd/hookd/internal/sqlite"
)

const rootToken = "root-token-for-tests"

// fakeResolver resolves *.private.test to a private address and every
// other name to a public one, without any network.
type fakeResolver struct{}

func (fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if strings.HasSuffix(host, "private.test") {
		return []netip.Addr{netip.MustParseAddr("10.1.2.3")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
}

// fakeDeliverer is a Deliverer made of functions.
type fakeDeliverer struct {
	wakes    atomic.Int64
	TestFunc func(ctx context.Context, w *hookd.Webhook, eventType string, payload json.RawMessage, headers map[string][]string) (*hookd.Attempt, error)
}

func (d *fakeDeliverer) Wake() { d.wakes.Add(1) }

func (d *fakeDeliverer) Test(ctx context.Context, w *hookd.Webhook, eventType string, payload json.RawMessage, headers map[string][]string) (*hookd.Attempt, error) {
	return d.TestFunc(ctx, w, eventType, payload, headers)
}

// env is one API server on loopback with a fresh store: SQLite (db) unless
// made by newEnvOn.
type env struct {
	t     testing.TB
	api   *httpapi.Server
	srv   *httptest.Server
	db    *sqlite.DB // nil on another store
	deliv *fakeDeliverer
}

// apiDoc is the API's OpenAPI document, loaded once for checking every
// answer of every test against it (see env.do).
var apiDoc = sync.OnceValues(func() (*openapitest.Doc, error) {
	return openapitest.Load(httpapi.OpenAPIDocument())
})

// checkAnswer checks an answer against the OpenAPI document: a request
// that is one of its operations must be answered with a status documented
// for it and a body that follows its schema.
func (e *env) checkAnswer(req *http.Request, res *http.Response, body []byte) {
	e.t.Helper()
	doc, err := apiDoc()
	if err != nil {
		e.t.Fatalf("openapi.json: %v", err)
	}
	if _, err := doc.Check(req, res, body); err != nil && !errors.Is(err, openapitest.ErrNoOperation) {
		e.t.Errorf("the answer differs from openapi.json: %v", err)
	}
}

// MustOpenDB opens a fresh SQLite store in a temporary directory.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "hookd.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func newAPI(tb testing.TB, store hookd.Store, d httpapi.Deliverer) *httpapi.Server {
	return &httpapi.Server{
		Store:           store,
		Targets:         &netguard.Policy{AllowHTTP: false, Resolver: fakeResolver{}},
		RootTokenHash:   hookd.HashToken(rootToken),
		Deliverer:       d,
		MaxPayloadBytes: 1024,
		Metrics:         metrics.NewRegistry(),
	}
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	db := MustOpenDB(tb)
	e := newEnvOn(tb, db)
	e.db = db
	return e
}

// newEnvOn is an env serving store (e.db stays nil unless it is SQLite's).
func newEnvOn(tb testing.TB, store hookd.Store) *env {
	tb.Helper()
	e := &env{t: tb, deliv: &fakeDeliverer{}}
	e.api = newAPI(tb, store, e.deliv)
	e.srv = httptest.NewServer(e.api.Handler())
	tb.Cleanup(e.srv.Close)
	return e
}

// resp is an answer, its body decoded when it is JSON.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// field returns the value at a dotted path of the JSON answer.
func (r *resp) field(path string) any {
	var v any = r.JSON
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func (r *resp) str(path string) string { s, _ := r.field(path).(string); return s }

// errorFields lists the errors[].field of a problem answer.
func (r *resp) errorFields() []string {
	var out []string
	list, _ := r.JSON["errors"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		f, _ := m["field"].(string)
		out = append(out, f)
	}
	return out
}

func (r *resp) data() []map[string]any {
	var out []map[string]any
	list, _ := r.JSON["data"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		out = append(out, m)
	}
	return out
}

// do sends a request; body is a string (sent as is) or a value (as JSON).
func (e *env) do(method, path, token string, body any, headers ...string) *resp {
	e.t.Helper()
	rd := hookdtest.Body(e.t, body)
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	e.checkAnswer(req, res, b)
	r := &resp{Status: res.StatusCode, Header: res.Header, Body: b}
	ct := res.Header.Get("Content-Type")
	if strings.Contains(ct, "json") && len(b) > 0 {
		if err := json.Unmarshal(b, &r.JSON); err != nil && b[0] == '{' {
			e.t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, b)
		}
	}
	if res.StatusCode >= 300 {
		if ct != "application/problem+json" {
			e.t.Fatalf("%s %s: %d with Content-Type %q, want application/problem+json", method, path, res.StatusCode, ct)
		}
		if int(r.JSON["status"].(float64)) != res.StatusCode || r.str("type") == "" || r.str("title") == "" {
			e.t.Fatalf("%s %s: bad problem document: %s", method, path, b)
		}
	}
	if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable {
		e.t.Fatalf("%s %s: server error %d: %s", method, path, res.StatusCode, b)
	}
	return r
}

// want fails unless r has status.
func (r *resp) want(tb testing.TB, status int) *resp {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// wantFields fails unless r is a 400 naming exactly fields (in any order).
func (r *resp) wantFields(tb testing.TB, status int, fields ...string) {
	tb.Helper()
	r.want(tb, status)
	got := r.errorFields()
	slices.Sort(got)
	want := slices.Clone(fields)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Fatalf("error fields = %q, want %q: %s", got, want, r.Body)
	}
}

// mustTenant creates a tenant.
func (e *env) mustTenant(id string) {
	e.t.Helper()
	e.do("POST", "/v1/tenants", rootToken, map[string]any{"id": id, "name": id}).want(e.t, 201)
}

// mustKey creates a key of tenant with scopes and returns its token.
func (e *env) mustKey(tenant string, scopes ...hookd.Scope) string {
	e.t.Helper()
	r := e.do("POST", "/v1/tenants/"+tenant+"/keys", rootToken, map[string]any{"name": "k", "scopes": scopes}).want(e.t, 201)
	return r.str("token")
}

// hook returns a valid create body with the given URL path.
func hook(path string) map[string]any {
	return map[string]any{"name": "hook " + path, "url": "https://example.com/" + path, "event_types": []string{"Unit.*"}}
}

// mustWebhook creates a webhook in tenant and returns its id.
func (e *env) mustWebhook(tenant string, body map[string]any) string {
	e.t.Helper()
	return e.do("POST", "/v1/tenants/"+tenant+"/webhooks", rootToken, body).want(e.t, 201).str("id")
}

func merge(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == deleteField {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

type deleteMarker struct{}

var deleteField = deleteMarker{}

var _ = time.Second

// panicStore is a store whose Ping panics.
type panicStore struct{ *sqlite.DB }

func (panicStore) Ping(context.Context) error { panic("boom") }
