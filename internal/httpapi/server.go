// Package httpapi serves hookd's REST API (version 1): tenants, API keys,
// webhooks, events, messages and attempts, plus the operational endpoints
// /healthz, /readyz, /metrics and /openapi.json. Every non-2xx answer is an
// RFC 9457 problem document; see docs/API.md for the choices the contract
// leaves open.
package httpapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
	"github.com/hookd/hookd/internal/metrics"
)

// DefaultMaxPayloadBytes is the event payload limit when
// Server.MaxPayloadBytes is 0 (256 KiB).
const DefaultMaxPayloadBytes = 256 << 10

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the embedded OpenAPI 3.1 document of the API.
func OpenAPIDocument() []byte { return openAPIDocument }

// Deliverer is the delivery engine as the API sees it.
type Deliverer interface {
	// Wake tells the engine that work may have become due (after a publish,
	// a retry, a recover, an unsuspend or an enable), so it looks now
	// instead of at its next tick.
	Wake()
	// Test sends one test event to w at once, with headers (may be nil)
	// over the webhook's own for this call only (see hookd.MergeHeaders),
	// records the attempt like any other (trigger test) and returns it.
	Test(ctx context.Context, w *hookd.Webhook, eventType string, payload json.RawMessage, headers map[string][]string) (*hookd.Attempt, error)
}

// Store is what the API asks of the store: everything but the delivery
// engine's calls and the sweep.
type Store interface {
	// Ping checks that the store is reachable (readiness).
	Ping(ctx context.Context) error
	hookd.TenantStore
	hookd.APIKeyStore
	hookd.WebhookStore
	hookd.EventStore
	hookd.MessageStore
	hookd.EventTypeStore
}

// Server is the HTTP API. Fill in the fields, then serve Handler. Store is
// required; every other field has a usable zero value.
type Server struct {
	Store Store
	// Targets checks webhook URLs at registration (scheme and address
	// policy); nil accepts any absolute http(s) URL.
	Targets hookd.TargetChecker
	// RootTokenHash is hookd.HashToken of the root token; empty disables
	// the root token.
	RootTokenHash string
	// Deliverer is woken after changes that create due work and sends test
	// events; nil: nobody is woken and the test endpoint answers 503.
	Deliverer Deliverer
	// MaxPayloadBytes limits an event's payload (0: DefaultMaxPayloadBytes).
	MaxPayloadBytes int
	// Logger receives internal errors and recovered panics (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Metrics, if set, gets the request counters and is served at /metrics.
	Metrics *metrics.Registry
	// MetricsPerTenant adds hookd_tenant_events_published_total, a series
	// per tenant (--metrics-per-tenant): off by default, as the series
	// grow with the tenants.
	MetricsPerTenant bool
	// OpenAPI replaces the embedded document served at /openapi.json.
	OpenAPI []byte
	// RateLimit is how many requests a second a tenant's API keys may make
	// together, on average (0: no limit); RateBurst how many at once (0:
	// RateLimit rounded up). Beyond it the answer is 429 with Retry-After.
	// The root token is not limited.
	RateLimit float64
	RateBurst int
	// UI, if set, is the dashboard, served under /ui/ (see package ui).
	UI http.Handler
	// PublicURL is the origin portal links point at (default: the
	// request's scheme and host); set it behind a proxy.
	PublicURL string
	// PortalSessionTTL is how long a portal link's session lasts (0:
	// DefaultPortalSessionTTL).
	PortalSessionTTL time.Duration
	// CatalogTTL is how long a tenant's event type catalogue is served
	// from memory (0: DefaultCatalogTTL): how long a change made through
	// another process on the same store takes to apply here.
	CatalogTTL time.Duration
	// Mounts are further APIs served beside /v1, the seeds' dialects
	// (package dialect): ServeMux patterns and their handlers. A handler
	// that answers in a shape of its own takes a whole subtree and
	// answers its 404 and 405 itself.
	Mounts map[string]http.Handler

	once      sync.Once
	mux       *http.ServeMux
	routes    []string // the patterns of the native API, as registered (Routes)
	handler   http.Handler
	metricsMu sync.Mutex
	requests  map[string]*metrics.Counter
	duration  *metrics.Histogram
	published *metrics.Counter       // events published, duplicates not counted
	perTenant *metrics.CounterFamily // the same per tenant; nil unless MetricsPerTenant
	limits    limiter
	touchMu   sync.Mutex
	touched   map[string]time.Time // when each API key's use was last recorded, see touch

	unavailableAt    atomic.Int64 // unix ns of the last 503 logged, see logUnavailable
	unavailableQuiet atomic.Int64 // 503s not logged since
	catalogs         catalogs
	streams          streamHub            // the open event streams (stream.go)
	types            hookd.EventTypeStore // where catalogues are read when Store is nil (DecodeWebhook)
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (s *Server) maxPayload() int {
	if s.MaxPayloadBytes > 0 {
		return s.MaxPayloadBytes
	}
	return DefaultMaxPayloadBytes
}

func (s *Server) wake() {
	if s.Deliverer != nil {
		s.Deliverer.Wake()
	}
}

// Handler returns the API's handler, built on the first call. Every field
// is read per request except Metrics, whose series are registered then: set
// the fields before calling Handler.
func (s *Server) Handler() http.Handler {
	s.once.Do(s.build)
	return s.handler
}

// Routes returns the patterns of the API's own operations as registered
// on its ServeMux ("GET /v1/tenants/{tenant}", "GET /healthz"), in
// registration order; Mounts and UI, described elsewhere, are not among
// them. The OpenAPI document is tested against it, so that the routes
// served are the source of truth rather than a list kept by hand.
func (s *Server) Routes() []string {
	s.once.Do(s.build)
	return append([]string(nil), s.routes...)
}

// routeMux is the API's ServeMux, noting each pattern registered through
// it (see Routes).
type routeMux struct {
	*http.ServeMux
	routes *[]string
}

func (m routeMux) Handle(pattern string, h http.Handler) {
	*m.routes = append(*m.routes, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

func (s *Server) build() {
	s.mux = http.NewServeMux()
	m := routeMux{ServeMux: s.mux, routes: &s.routes}

	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		// Not ready while the store is unreachable or its writes fail
		// (a full disk): the problem's detail says which.
		if err := s.Store.Ping(r.Context()); err != nil {
			if hookd.ErrorCode(err) != hookd.EUNAVAILABLE {
				s.logger().Error("readiness: store unreachable", "err", err)
				err = hookd.Errorf(hookd.EUNAVAILABLE, "store unreachable")
			}
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	m.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if s.Metrics == nil {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			return
		}
		s.Metrics.ServeHTTP(w, r)
	})
	m.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		doc := s.OpenAPI
		if doc == nil {
			doc = openAPIDocument
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	})

	const t = "/v1/tenants/{tenant}"
	m.Handle("POST /v1/tenants", s.root(s.createTenant))
	m.Handle("GET /v1/tenants", s.root(s.listTenants))
	m.Handle("GET "+t, s.rootTenant(s.getTenant))
	m.Handle("DELETE "+t, s.rootTenant(s.deleteTenant))

	m.Handle("POST "+t+"/keys", s.tenant(s.createKey, access.ManageKeys))
	m.Handle("GET "+t+"/keys", s.tenant(s.listKeys, access.ManageKeys))
	m.Handle("DELETE "+t+"/keys/{id}", s.tenant(s.deleteKey, access.ManageKeys))
	m.Handle("POST "+t+"/portal-links", s.tenant(s.createPortalLink, access.PortalLinks))
	m.Handle("GET "+t+"/portal-links", s.tenant(s.listPortalLinks, access.PortalLinks))
	m.Handle("DELETE "+t+"/portal-links/{id}", s.tenant(s.revokePortalLink, access.PortalLinks))

	const et = t + "/event-types"
	m.Handle("POST "+et, s.tenant(s.createEventType, access.WriteEventTypes))
	m.Handle("GET "+et, s.tenant(s.listEventTypes, access.ReadEventTypes))
	m.Handle("GET "+et+"/{name}", s.tenant(s.getEventType, access.ReadEventTypes))
	m.Handle("PUT "+et+"/{name}", s.tenant(s.putEventType, access.WriteEventTypes))
	m.Handle("PATCH "+et+"/{name}", s.tenant(s.patchEventType, access.WriteEventTypes))
	m.Handle("DELETE "+et+"/{name}", s.tenant(s.deleteEventType, access.WriteEventTypes))

	const wh = t + "/webhooks"
	m.Handle("POST "+wh, s.tenant(s.createWebhook, access.WriteWebhooks))
	m.Handle("GET "+wh, s.tenant(s.listWebhooks, access.ListWebhooks))
	m.Handle("GET "+wh+"/{id}", s.tenant(s.getWebhook, access.ReadWebhooks))
	m.Handle("PUT "+wh+"/{id}", s.tenant(s.putWebhook, access.WriteWebhooks))
	m.Handle("PATCH "+wh+"/{id}", s.tenant(s.patchWebhook, access.WriteWebhooks))
	m.Handle("DELETE "+wh+"/{id}", s.tenant(s.deleteWebhook, access.WriteWebhooks))
	m.Handle("POST "+wh+"/{id}/unsuspend", s.tenant(s.unsuspendWebhook, access.WriteWebhooks))
	m.Handle("POST "+wh+"/{id}/test", s.tenant(s.testWebhook, access.WriteWebhooks))
	m.Handle("GET "+wh+"/{id}/secrets", s.tenant(s.getSecrets, access.WriteWebhooks))
	m.Handle("POST "+wh+"/{id}/secrets/rotate", s.tenant(s.rotateSecret, access.WriteWebhooks))
	m.Handle("POST "+wh+"/{id}/recover", s.tenant(s.recoverWebhook, access.RecoverMessages))

	const ev = t + "/events"
	m.Handle("POST "+ev, s.tenant(s.publishEvent, access.PublishEvents))
	m.Handle("POST "+ev+"/batch", s.tenant(s.publishBatch, access.PublishEvents))
	m.Handle("GET "+ev, s.tenant(s.listEvents, access.ReadEvents))
	m.Handle("GET "+ev+"/{id}", s.tenant(s.getEvent, access.ReadEvents))
	m.Handle("GET "+t+"/stream", s.tenant(s.streamEvents, access.ReadEvents))
	m.Handle("GET /v1/whoami", s.authenticated(s.whoami))

	const msg = t + "/messages"
	m.Handle("GET "+msg, s.tenant(s.listMessages, access.ReadMessages))
	m.Handle("GET "+msg+"/{id}", s.tenant(s.getMessage, access.ReadMessages))
	m.Handle("GET "+msg+"/{id}/attempts", s.tenant(s.listAttempts, access.ReadMessages))
	m.Handle("POST "+msg+"/{id}/retry", s.tenant(s.retryMessage, access.WriteMessages))
	m.Handle("POST "+msg+"/{id}/abort", s.tenant(s.abortMessage, access.WriteMessages))
	m.Handle("POST "+msg+"/{id}/resolve", s.tenant(s.resolveMessage, access.WriteMessages))

	// Not routes of this API: each has a description of its own.
	for pattern, h := range s.Mounts {
		s.mux.Handle(pattern, h)
	}

	if s.UI != nil {
		s.mux.Handle("/ui/", s.UI)
		s.mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	}

	if s.Metrics != nil {
		s.requests = map[string]*metrics.Counter{}
		s.duration = s.Metrics.Histogram("hookd_http_request_duration_seconds",
			"Time to answer an API request.", []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10})
		s.published = s.Metrics.Counter("hookd_events_published_total", "Events published and stored (a duplicate of an idempotency key not counted).")
		if s.MetricsPerTenant {
			s.perTenant = s.Metrics.CounterFamily("hookd_tenant_events_published_total",
				"Events published and stored, per tenant; only with --metrics-per-tenant.", "tenant")
		}
	}
	s.handler = http.HandlerFunc(s.serve)
}

// serve routes a request, turning the mux's plain-text 404 and 405 answers
// into problem documents, recovering panics and counting requests.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	h, pattern := s.mux.Handler(r)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger().Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
			if !sw.wrote {
				s.writeError(sw, r, errors.New("panic"))
			}
		}
		s.count(r.Method, pattern, sw.status, time.Since(start))
	}()
	if pattern == "" {
		// Not found, or found under another method: ask the mux which.
		probe := &probeWriter{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			sw.Header().Set("Allow", probe.header.Get("Allow"))
			s.writeError(sw, r, &problemError{status: http.StatusMethodNotAllowed, typ: "method-not-allowed",
				title: "Method not allowed", detail: hookd.NewMsg("method %s is not allowed here", r.Method)})
			return
		}
		s.writeError(sw, r, hookd.Errorf(hookd.ENOTFOUND, "no such resource"))
		return
	}
	s.mux.ServeHTTP(sw, r) // sets the path values Handler does not
}

func (s *Server) count(method, pattern string, status int, d time.Duration) {
	if s.Metrics == nil {
		return
	}
	if status == 0 {
		status = http.StatusOK
	}
	route := pattern
	if i := strings.IndexByte(route, ' '); i >= 0 {
		route = route[i+1:]
	}
	if route == "" {
		route = "unmatched"
	}
	name := `hookd_http_requests_total{method="` + method + `",route="` + route + `",code="` + strconv.Itoa(status) + `"}`
	if pattern == "" {
		name = `hookd_http_requests_total{method="other",route="unmatched",code="` + strconv.Itoa(status) + `"}`
	}
	s.metricsMu.Lock()
	c, ok := s.requests[name]
	if !ok {
		c = s.Metrics.Counter(name, "API requests by method, route and status code.")
		s.requests[name] = c
	}
	s.metricsMu.Unlock()
	c.Inc()
	s.duration.Observe(d.Seconds())
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// probeWriter captures the mux's answer for an unmatched request.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written is built from plain types; this is a bug.
		panic("httpapi: encode answer: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
