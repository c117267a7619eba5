// Package enterprise serves the enterprise event platform's webhook API
// (seed 004) under /event/{tenantLocator}: webhooks by locator (the
// webhook's id) with an endpoint, headers, event types and automatic
// suspension, PATCH by the platform's add-remove semantics (removals
// first, then additions), unsuspend, and the diverted events (failed
// messages) to retry or dismiss. The path names the tenant, which must be
// the key's; errors are the native API's problem documents.
package enterprise

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
	"github.com/hookd/hookd/internal/dialect"
)

//go:embed openapi.json
var openAPIDocument []byte

// API is the enterprise dialect.
type API struct {
	env    dialect.Env
	routes []string
	mounts map[string]http.Handler
}

// New returns the enterprise dialect of env.
func New(env dialect.Env) *API {
	a := &API{env: env, mounts: map[string]http.Handler{"GET /openapi/enterprise.json": dialect.OpenAPIHandler(openAPIDocument)}}
	const t = "/event/{tenantLocator}"
	a.handle("POST "+t+"/webhooks", access.WriteWebhooks, a.create)
	a.handle("GET "+t+"/webhooks/list", access.ListWebhooks, a.list)
	a.handle("GET "+t+"/webhooks/{webhookLocator}", access.ReadWebhooks, a.get)
	a.handle("PATCH "+t+"/webhooks/{webhookLocator}", access.WriteWebhooks, a.patch)
	a.handle("PATCH "+t+"/webhooks/{webhookLocator}/unsuspend", access.WriteWebhooks, a.unsuspend)
	a.handle("DELETE "+t+"/webhooks/{webhookLocator}", access.WriteWebhooks, a.delete)
	a.handle("GET "+t+"/diverted", access.ReadMessages, a.diverted)
	a.handle("POST "+t+"/diverted/{locator}/retry", access.WriteMessages, a.retryDiverted)
	a.handle("DELETE "+t+"/diverted/{locator}", access.WriteMessages, a.deleteDiverted)
	return a
}

// handlerFunc is an enterprise handler: it gets the path's tenant, the
// caller admitted to it.
type handlerFunc func(w http.ResponseWriter, r *http.Request, tenant string) error

// handle routes pattern on the native mux: the dialect's answers are the
// native ones, so the native server answers its 404s and 405s too.
func (a *API) handle(pattern string, need access.Need, h handlerFunc) {
	a.routes = append(a.routes, pattern)
	a.mounts[pattern] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := func() error {
			c, err := a.env.Host.Authenticate(w, r)
			if err != nil {
				return err
			}
			tenant := Tenant(r.PathValue("tenantLocator"))
			if err := a.env.Host.Admit(w, r, c, tenant, need); err != nil {
				return err
			}
			return h(w, r, tenant)
		}()
		if err != nil {
			a.env.Host.WriteError(w, r, err)
		}
	})
}

// Mounts returns the dialect's routes and its OpenAPI document.
func (a *API) Mounts() map[string]http.Handler { return a.mounts }

// Routes lists the dialect's operations.
func (a *API) Routes() []string { return append([]string(nil), a.routes...) }

// OpenAPI returns the dialect's OpenAPI document.
func (a *API) OpenAPI() []byte { return openAPIDocument }

var uuidPattern = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// Tenant returns the tenant id a tenantLocator names: a UUID compares
// case-insensitively (tenant ids are lower-case), anything else as it is.
func Tenant(locator string) string {
	if uuidPattern.MatchString(locator) {
		return strings.ToLower(locator)
	}
	return locator
}

// webhook is the seed's WebhookResponse.
type webhook struct {
	Locator         string     `json:"locator"`
	Name            string     `json:"name"`
	Enabled         bool       `json:"enabled"`
	Endpoint        endpoint   `json:"endpoint"`
	FailureHandling *failure   `json:"failureHandling"`
	Suspended       bool       `json:"suspended"`
	SuspendedAt     *time.Time `json:"suspendedAt"`
	EventTypes      []string   `json:"eventTypes"`
}

type endpoint struct {
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers"`
}

// failure is FailureHandlingResponse; none (null) when the webhook is
// never suspended.
type failure struct {
	SuspendAfter string `json:"suspendAfter"`
}

func view(w *hookd.Webhook) webhook {
	v := webhook{Locator: w.ID, Name: w.Name, Enabled: w.Enabled, Endpoint: endpoint{URL: w.URL, Headers: w.Headers},
		Suspended: w.Suspended, EventTypes: w.EventTypes}
	if v.Endpoint.Headers == nil {
		v.Endpoint.Headers = map[string][]string{}
	}
	if v.EventTypes == nil {
		v.EventTypes = []string{}
	}
	if d := time.Duration(w.FailureHandling.SuspendAfter); d > 0 {
		v.FailureHandling = &failure{SuspendAfter: FormatDuration(d)}
	}
	if w.SuspendedAt != nil {
		t := w.SuspendedAt.UTC()
		v.SuspendedAt = &t
	}
	return v
}

// FormatDuration writes d as Go does, without the zero tails: "120h",
// "5m", "1m30s".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// divertedEvent is a failed message as the seed's diverted events.
type divertedEvent struct {
	Locator        string          `json:"locator"`
	WebhookLocator string          `json:"webhookLocator"`
	EventType      string          `json:"eventType"`
	Payload        json.RawMessage `json:"payload"`
	FailedAt       time.Time       `json:"failedAt"`
	Attempts       int             `json:"attempts"`
	LastError      *string         `json:"lastError"`
}
