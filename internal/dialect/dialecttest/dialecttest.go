// Package dialecttest runs hookd for the dialects' tests: the native API
// server on loopback with dialects mounted, a fresh SQLite store, the
// delivery engine (retrying after a few milliseconds) and receivers on
// loopback, so that a test registers through a dialect, publishes through
// /v1 and sees the signed delivery arrive.
package dialecttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/dialect"
	"github.com/hookd/hookd/internal/hookdtest"
	"github.com/hookd/hookd/internal/httpapi"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/openapitest"
	"github.com/hookd/hookd/internal/sqlite"
)

// RootToken is the root token of every Server.
const RootToken = "root-token-for-dialect-tests"

// Options configure a Server.
type Options struct {
	// Dialects are the dialects mounted, made from the server's Env.
	Dialects []func(dialect.Env) dialect.API
	// HTTPSOnly refuses http:// targets (the server's default; tests
	// deliver to http:// receivers on loopback, so they allow it).
	HTTPSOnly bool
	// NoEngine runs without the delivery engine: nothing is delivered
	// and test calls answer 503.
	NoEngine bool
	// RetrySchedule is the server's retry schedule (default 10 ms).
	RetrySchedule []time.Duration
	// Store is the store served, which the caller closes (nil: a fresh
	// SQLite store in a temporary directory, closed when the test ends).
	Store hookd.Store
}

// Server is hookd on loopback.
type Server struct {
	t      testing.TB
	URL    string
	Store  hookd.Store
	API    *httpapi.Server
	Env    dialect.Env
	APIs   []dialect.API
	docs   []*openapitest.Doc // the APIs' OpenAPI documents, to check answers against
	engine *delivery.Dispatcher
	client *http.Client
}

// Start starts a Server; it stops when the test ends, engine drained.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	db := opts.Store
	if db == nil {
		sq, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sq.Close() })
		db = sq
	}
	policy := &netguard.Policy{AllowHTTP: !opts.HTTPSOnly, AllowPrivate: true}
	s := &Server{t: t, Store: db}
	s.API = &httpapi.Server{Store: db, Targets: policy, RootTokenHash: hookd.HashToken(RootToken),
		MaxPayloadBytes: 64 << 10}
	s.Env = dialect.Env{Store: db, AllowHTTP: policy.AllowHTTP, Host: s.API}
	if !opts.NoEngine {
		sched := opts.RetrySchedule
		if sched == nil {
			sched = []time.Duration{10 * time.Millisecond}
		}
		s.engine = delivery.New(delivery.Config{Store: db, Policy: policy, RetrySchedule: sched,
			PollInterval: 50 * time.Millisecond, Workers: 4})
		s.API.Deliverer = s.engine
		s.Env.Deliverer = s.engine
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.engine.Run(ctx)
		}()
		t.Cleanup(func() {
			dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer dcancel()
			s.engine.Drain(dctx)
			cancel()
			<-done
		})
	}
	s.API.Mounts = map[string]http.Handler{}
	for _, mk := range opts.Dialects {
		a := mk(s.Env)
		s.APIs = append(s.APIs, a)
		doc, err := openapitest.Load(a.OpenAPI())
		if err != nil {
			t.Fatalf("a dialect's OpenAPI document: %v", err)
		}
		s.docs = append(s.docs, doc)
		for p, h := range a.Mounts() {
			s.API.Mounts[p] = h
		}
	}
	srv := httptest.NewServer(s.API.Handler())
	t.Cleanup(srv.Close)
	s.URL, s.client = srv.URL, srv.Client()
	return s
}

// Tenant creates a tenant.
func (s *Server) Tenant(id string) {
	s.t.Helper()
	s.Do("POST", "/v1/tenants", RootToken, map[string]any{"id": id, "name": id}).Want(s.t, 201)
}

// Key creates a key of tenant with scopes and returns its token.
func (s *Server) Key(tenant string, scopes ...hookd.Scope) string {
	s.t.Helper()
	r := s.Do("POST", "/v1/tenants/"+tenant+"/keys", RootToken, map[string]any{"name": "k", "scopes": scopes}).Want(s.t, 201)
	return r.Str("token")
}

// Serve sends a request to the server's handler in the test's process,
// without a socket (fuzzing makes many requests), and returns the answer.
// target is a path; rawQuery, if not empty, is set as it is, so that a
// fuzzer's bytes reach the handler unparsed; body is sent as JSON when not
// nil; headers are name, value pairs.
func (s *Server) Serve(method, target, rawQuery, token string, body []byte, headers ...string) *httptest.ResponseRecorder {
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if rawQuery != "" {
		req.URL.RawQuery = rawQuery
		req.RequestURI = req.URL.RequestURI()
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	s.API.Handler().ServeHTTP(rec, req)
	return rec
}

// Webhooks returns every webhook of tenant as stored, in id order, to
// compare before and after a request that must store nothing.
func (s *Server) Webhooks(tenant string) ([]*hookd.Webhook, error) {
	return s.Store.ListWebhooks(context.Background(), hookd.WebhookFilter{TenantID: tenant, Page: hookd.Page{Limit: 10000}})
}

// Resp is an answer, its body decoded when it is JSON.
type Resp struct {
	Method, Path string
	Status       int
	Header       http.Header
	Body         []byte
	JSON         any
}

// Do sends a request; body is a string or []byte (sent as is) or a value
// (sent as JSON); headers are name, value pairs.
func (s *Server) Do(method, path, token string, body any, headers ...string) *Resp {
	s.t.Helper()
	rd := hookdtest.Body(s.t, body)
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
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
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	r := &Resp{Method: method, Path: path, Status: res.StatusCode, Header: res.Header, Body: b}
	if strings.Contains(res.Header.Get("Content-Type"), "json") && len(b) > 0 {
		if err := json.Unmarshal(b, &r.JSON); err != nil {
			s.t.Fatalf("%s %s: the answer is not JSON: %v: %s", method, path, err, b)
		}
	}
	if res.StatusCode == http.StatusInternalServerError {
		s.t.Fatalf("%s %s: 500: %s", method, path, b)
	}
	s.checkAnswer(req, res, b)
	return r
}

// checkAnswer checks an answer against the OpenAPI document of the
// dialect whose operation the request is (a request that is none, such
// as /v1's, is not checked here): its status must be documented for the
// operation and its body follow the schema.
func (s *Server) checkAnswer(req *http.Request, res *http.Response, body []byte) {
	s.t.Helper()
	for _, doc := range s.docs {
		_, err := doc.Check(req, res, body)
		if errors.Is(err, openapitest.ErrNoOperation) {
			continue
		}
		if err != nil {
			s.t.Errorf("the answer differs from the dialect's OpenAPI document: %v", err)
		}
		return
	}
}

// Want fails unless r has status.
func (r *Resp) Want(t testing.TB, status int) *Resp {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s %s: status = %d, want %d: %s", r.Method, r.Path, r.Status, status, r.Body)
	}
	return r
}

// WantJSON fails unless r has status and its body is the JSON want (a
// JSON text or a value), compared as values.
func (r *Resp) WantJSON(t testing.TB, status int, want any) *Resp {
	t.Helper()
	r.Want(t, status)
	var w any
	switch v := want.(type) {
	case string:
		if err := json.Unmarshal([]byte(v), &w); err != nil {
			t.Fatalf("want is not JSON: %v: %s", err, v)
		}
	default:
		b, _ := json.Marshal(v)
		json.Unmarshal(b, &w)
	}
	if !jsonEqual(r.JSON, w) {
		wb, _ := json.Marshal(w)
		t.Fatalf("%s %s: body\n got %s\nwant %s", r.Method, r.Path, bytes.TrimSpace(r.Body), wb)
	}
	return r
}

func jsonEqual(a, b any) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Equal(ab, bb)
}

// Get returns the value at a path of the JSON answer: names and indexes
// separated by dots (`data.secrets.0`); nil when there is none.
func (r *Resp) Get(path string) any {
	v := r.JSON
	if path == "" {
		return v
	}
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// Str returns the string at path, "" when there is none.
func (r *Resp) Str(path string) string { s, _ := r.Get(path).(string); return s }

// Num returns the number at path, -1 when there is none.
func (r *Resp) Num(path string) int64 {
	f, ok := r.Get(path).(float64)
	if !ok {
		return -1
	}
	return int64(f)
}

// Len returns the length of the array at path, -1 when there is none.
func (r *Resp) Len(path string) int {
	a, ok := r.Get(path).([]any)
	if !ok {
		return -1
	}
	return len(a)
}

// Eventually polls cond until it holds, failing the test after 20 s.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Receiver is a webhook receiver on loopback that records every request
// and answers Status (default 204).
type Receiver struct {
	URL    string
	Status atomic.Int32
	mu     sync.Mutex
	reqs   []Request
}

// Request is a request a Receiver got.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte
}

// Receiver starts a receiver that stops when the test ends.
func (s *Server) Receiver() *Receiver {
	rc := &Receiver{}
	rc.Status.Store(http.StatusNoContent)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: b})
		rc.mu.Unlock()
		w.WriteHeader(int(rc.Status.Load()))
	}))
	s.t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// Requests returns what the receiver got so far.
func (rc *Receiver) Requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

// Wait waits until the receiver got at least n requests and returns them.
func (rc *Receiver) Wait(t testing.TB, n int) []Request {
	t.Helper()
	Eventually(t, fmt.Sprintf("%d requests at the receiver", n), func() bool { return len(rc.Requests()) >= n })
	return rc.Requests()
}

// Verify checks the request's Standard Webhooks signature with secret,
// by the specification's reference library.
func Verify(t testing.TB, secret string, req Request) {
	t.Helper()
	var wh *standardwebhooks.Webhook
	var err error
	if strings.HasPrefix(secret, hookd.SecretPrefix) {
		wh, err = standardwebhooks.NewWebhook(secret)
	} else {
		wh, err = standardwebhooks.NewWebhookRaw([]byte(secret))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(req.Body, req.Header); err != nil {
		t.Fatalf("the delivery's signature does not verify with the webhook's secret: %v", err)
	}
}

// Secrets returns the webhook's secrets, through /v1.
func (s *Server) Secrets(tenant, webhookID string) []string {
	s.t.Helper()
	r := s.Do("GET", "/v1/tenants/"+tenant+"/webhooks/"+webhookID+"/secrets", RootToken, nil).Want(s.t, 200)
	var out []string
	for _, v := range r.Get("secrets").([]any) {
		out = append(out, v.(string))
	}
	return out
}

// WebhookByNumber returns the tenant's webhook number n, through /v1.
func (s *Server) WebhookByNumber(tenant string, n int64) map[string]any {
	s.t.Helper()
	r := s.Do("GET", "/v1/tenants/"+tenant+"/webhooks?limit=1000", RootToken, nil).Want(s.t, 200)
	for _, w := range r.Get("data").([]any) {
		m := w.(map[string]any)
		if int64(m["number"].(float64)) == n {
			return m
		}
	}
	s.t.Fatalf("no webhook number %d in tenant %s: %s", n, tenant, r.Body)
	return nil
}

// CheckOpenAPI checks a dialect's OpenAPI document against its routes: a
// 3.1 document whose paths hold exactly the routes' operations, every
// $ref resolving, and whose path parameters are declared.
func CheckOpenAPI(t testing.TB, a dialect.API) {
	t.Helper()
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(a.OpenAPI(), &doc); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	var inDoc []string
	for path, ops := range doc.Paths {
		for m, op := range ops {
			if m == "parameters" {
				continue
			}
			inDoc = append(inDoc, strings.ToUpper(m)+" "+path)
			if o, _ := op.(map[string]any); o["responses"] == nil {
				t.Errorf("%s %s has no responses", m, path)
			}
		}
	}
	routes := a.Routes()
	slices.Sort(inDoc)
	slices.Sort(routes)
	if !slices.Equal(inDoc, routes) {
		t.Errorf("the OpenAPI document's operations\n %q\ndiffer from the routes\n %q", inDoc, routes)
	}
	var all any
	json.Unmarshal(a.OpenAPI(), &all)
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

// Shape checks that an error answer is in a dialect's shape: its status,
// headers and body as the dialect writes every error; an error says what
// is wrong.
type Shape func(status int, header http.Header, body []byte) error

// CheckFuzzed checks what every request of a dialect keeps to, whatever
// its bytes: never a 5xx; an error answer (4xx) in the dialect's shape;
// after an error or a redirect (3xx, the mux's to a clean path) the
// tenant's webhooks as they were before the request; a success only
// with webhooks that validate under the server's policy and that every
// store can keep (UTF-8 without NUL). After a success it puts the
// tenant's webhooks back as they were before (a deleted one comes back
// under a new id and number), so that the next input starts from the
// same webhooks. what describes the request for a failure.
func (s *Server) CheckFuzzed(t *testing.T, tenant string, before []*hookd.Webhook, rec *httptest.ResponseRecorder, shape Shape, what string) {
	t.Helper()
	after, err := s.Webhooks(tenant)
	if err != nil {
		t.Fatal(err)
	}
	switch code := rec.Code; {
	case code >= 500:
		t.Fatalf("%s: %d: %s", what, code, rec.Body)
	case code >= 400:
		if err := shape(code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Fatalf("%s: %d not in the dialect's shape: %v: %s", what, code, err, rec.Body)
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("%s: %d, but the webhooks changed: %s", what, code, rec.Body)
		}
	case code >= 300 && code < 400: // the mux's redirect to a clean path
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("%s: %d, but the webhooks changed", what, code)
		}
	case code >= 200 && code < 300:
		ctx := context.Background()
		was, is := map[string]*hookd.Webhook{}, map[string]bool{}
		for _, w := range before {
			was[w.ID] = w
		}
		for _, w := range after {
			is[w.ID] = true
		}
		for _, w := range before {
			if !is[w.ID] { // deleted: back, under a new id and number
				c := *w
				if err := s.Store.CreateWebhook(ctx, &c); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, w := range after {
			if old, ok := was[w.ID]; ok && reflect.DeepEqual(old, w) {
				continue
			}
			if err := w.Validate(ctx, s.API.Targets); err != nil {
				t.Fatalf("%s: %d stored an invalid webhook: %v", what, code, err)
			}
			if p := hookdtest.Unstorable(w, ""); p != "" {
				t.Fatalf("%s: %d stored %s, which PostgreSQL cannot keep", what, code, p)
			}
			if old, ok := was[w.ID]; ok {
				err = s.Store.UpdateWebhook(ctx, old)
			} else {
				err = s.Store.DeleteWebhook(ctx, tenant, w.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	default:
		t.Fatalf("%s: unexpected status %d: %s", what, code, rec.Body)
	}
}

// WireSafe reports whether s can travel in an HTTP/1.1 request line or
// header value: no control characters (tab aside) and no space in a
// request target when target is set. A fuzzer's other strings are
// skipped, as no client could send them.
func WireSafe(s string, target bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t') || c == 0x7f || (target && (c == ' ' || c == '\t' || c == '#')) {
			return false
		}
	}
	return true
}
