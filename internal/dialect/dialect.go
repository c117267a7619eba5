// Package dialect holds what the seeds' APIs share: hookd serves the
// webhook API of each platform its seed documents describe (a dialect:
// property, facility, device, enterprise, one package each under this
// one), on the same core as /v1. A dialect maps its requests onto the
// domain and the Store: a registration made through it is an ordinary
// webhook, validated by the domain's rules (hookd.Webhook.Validate) and
// answered in the dialect's words. It authenticates through the native
// API server (Host), so that tokens, scopes and rate limits work as in
// /v1, and has no SQL of its own.
package dialect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
)

// Names are the dialects, in the order --dialects lists them.
var Names = []string{"property", "facility", "device", "enterprise"}

// ParseNames reads the value of --dialects: names of Names separated by
// commas, or "none" for none; empty means every dialect. A name given
// twice counts once; the order of Names is kept.
func ParseNames(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return slices.Clone(Names), nil
	}
	if strings.EqualFold(s, "none") {
		return []string{}, nil
	}
	want := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if !slices.Contains(Names, p) {
			return nil, fmt.Errorf("%q is not a dialect: want a comma-separated list of %s, or none", p, strings.Join(Names, ", "))
		}
		want[p] = true
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("no dialect named: want a comma-separated list of %s, or none", strings.Join(Names, ", "))
	}
	out := []string{}
	for _, n := range Names {
		if want[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// Host is what a dialect takes from the native API server
// (httpapi.Server implements it), so that authentication, scopes, rate
// limits and problem documents are written once.
type Host interface {
	// Authenticate finds the caller of the request's bearer token:
	// EUNAUTHORIZED when it is missing or unknown.
	Authenticate(w http.ResponseWriter, r *http.Request) (*access.Caller, error)
	// Admit decides whether the caller may do need in tenant: ENOTFOUND
	// for a tenant not the caller's (or none), ERATELIMITED, EFORBIDDEN.
	Admit(w http.ResponseWriter, r *http.Request, c *access.Caller, tenant string, need access.Need) error
	// WriteError answers err as the native API's problem document.
	WriteError(w http.ResponseWriter, r *http.Request, err error)
	// ValidateWebhook checks w as the native API does before storing it:
	// the domain's rules under the server's target policy, and the
	// tenant's event type catalogue for w's event types but those in
	// kept. One EINVALID error names every native field.
	ValidateWebhook(ctx context.Context, w *hookd.Webhook, kept []string) error
}

// Deliverer is the delivery engine as the dialects see it (the
// dispatcher, as httpapi.Deliverer).
type Deliverer interface {
	// Wake tells the engine that work may have become due.
	Wake()
	// Test sends one test event to w at once with headers (may be nil)
	// over the webhook's own, records the attempt and returns it.
	Test(ctx context.Context, w *hookd.Webhook, eventType string, payload json.RawMessage, headers map[string][]string) (*hookd.Attempt, error)
}

// Store is what the dialects need of a store (every hookd.Store has it):
// webhooks, messages and their attempts, and the event of a message.
type Store interface {
	hookd.WebhookStore
	hookd.MessageStore
	hookd.MessageTotaler
	GetEvent(ctx context.Context, tenantID, id string) (*hookd.Event, error)
}

// Env is what every dialect is built from. Store and Host are required.
type Env struct {
	Store Store
	// AllowHTTP says that the server accepts http:// targets
	// (--allow-http): the facility seed words a URL that is not https by
	// it.
	AllowHTTP bool
	Host      Host
	// Deliverer sends test calls and is woken after changes that create
	// due work; nil: test calls answer 503.
	Deliverer Deliverer
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Logger receives internal errors and recovered panics (nil: discard).
	Logger *slog.Logger
}

// Time returns the current time in UTC.
func (e *Env) Time() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

// Log returns the logger.
func (e *Env) Log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Wake wakes the delivery engine, if there is one.
func (e *Env) Wake() {
	if e.Deliverer != nil {
		e.Deliverer.Wake()
	}
}

// ErrRootHasNoTenant is KeyTenant's answer to the root token.
var ErrRootHasNoTenant = hookd.Errorf(hookd.EFORBIDDEN, "the root token belongs to no tenant: use an API key of the tenant")

// KeyTenant authenticates r and admits its caller for need in the
// caller's own tenant, the tenant of the dialects whose paths name none;
// it returns that tenant. EUNAUTHORIZED, ERATELIMITED, EFORBIDDEN, and
// EFORBIDDEN for the root token, which belongs to no tenant.
func (e *Env) KeyTenant(w http.ResponseWriter, r *http.Request, need access.Need) (string, error) {
	c, err := e.Host.Authenticate(w, r)
	if err != nil {
		return "", err
	}
	if c.Root {
		return "", ErrRootHasNoTenant
	}
	if err := e.Host.Admit(w, r, c, c.TenantID, need); err != nil {
		return "", err
	}
	return c.TenantID, nil
}

// API is a dialect as the server mounts it.
type API interface {
	// Mounts returns the ServeMux patterns the dialect answers, and
	// their handlers (see httpapi.Server.Mounts).
	Mounts() map[string]http.Handler
	// Routes lists the dialect's operations, "METHOD /path/{param}", as
	// its OpenAPI document describes them.
	Routes() []string
	// OpenAPI returns the dialect's OpenAPI document, served at
	// /openapi/<name>.json.
	OpenAPI() []byte
}

// OpenAPIHandler serves doc as JSON.
func OpenAPIHandler(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	})
}

// StatusError is an answer the domain has no code for (405, 415): its
// status, the native problem type's last part, and title and detail as
// catalogue keys (the native API's own, so that the enterprise dialect's
// answers are the native ones; see httpapi's statusProblem).
type StatusError struct {
	Status int
	Type   string
	Title  string
	Detail hookd.Msg
}

func (e *StatusError) Error() string { return e.Detail.String() }

// Problem returns the answer of e.
func (e *StatusError) Problem() (status int, typ, title string, detail hookd.Msg) {
	return e.Status, e.Type, e.Title, e.Detail
}

// codeStatus gives each error code its HTTP status.
var codeStatus = map[string]int{
	hookd.EINVALID:      http.StatusBadRequest,
	hookd.EUNAUTHORIZED: http.StatusUnauthorized,
	hookd.EFORBIDDEN:    http.StatusForbidden,
	hookd.ENOTFOUND:     http.StatusNotFound,
	hookd.ECONFLICT:     http.StatusConflict,
	hookd.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	hookd.ERATELIMITED:  http.StatusTooManyRequests,
	hookd.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// Status returns the HTTP status of err: a StatusError's own, its code's
// for a *hookd.Error, 500 for anything else.
func Status(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	if s, ok := codeStatus[hookd.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// UnavailableRetryAfter is the Retry-After, in seconds, of a 503 answer,
// as the native API's (httpapi.UnavailableRetryAfter).
const UnavailableRetryAfter = "5"

// Prepare sets the headers every error answer of status needs beside its
// body: Retry-After on 503 (and on a 429 that has none), and the bearer
// challenge on 401, unless set already.
func Prepare(w http.ResponseWriter, status int) {
	h := w.Header()
	switch status {
	case http.StatusUnauthorized:
		if h.Get("WWW-Authenticate") == "" {
			h.Set("WWW-Authenticate", `Bearer realm="hookd"`)
		}
	case http.StatusTooManyRequests:
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", "1")
		}
	case http.StatusServiceUnavailable:
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", UnavailableRetryAfter)
		}
	}
	h.Set("Cache-Control", "no-store")
}

// LogInternal logs err when it is an internal error (method, path and the
// error only: never a body, a token or a secret) and reports whether it
// was one.
func (e *Env) LogInternal(r *http.Request, err error) bool {
	if Status(err) != http.StatusInternalServerError {
		return false
	}
	e.Log().Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	return true
}

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	WriteJSONType(w, status, "application/json", v)
}

// WriteJSONType answers status with v as JSON of the content type ct.
func WriteJSONType(w http.ResponseWriter, status int, ct string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written is built from plain types; this is a bug.
		panic("dialect: encode answer: " + err.Error())
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// Name makes the name of a webhook registered through a dialect that
// has none (the native API requires one): its description when it has
// one, else "{host} {first event type}"; never empty, at most
// hookd.MaxNameLen characters.
func Name(description, rawURL string, eventTypes []string) string {
	name := strings.TrimSpace(description)
	if name == "" {
		host := rawURL
		if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
			host = u.Host
		}
		parts := []string{}
		if host != "" {
			parts = append(parts, host)
		}
		if len(eventTypes) > 0 {
			parts = append(parts, eventTypes[0])
		}
		name = strings.TrimSpace(strings.Join(parts, " "))
	}
	if name == "" {
		name = "webhook"
	}
	if utf8.RuneCountInString(name) > hookd.MaxNameLen {
		name = string([]rune(name)[:hookd.MaxNameLen])
	}
	return name
}

// Window returns the items of a list from the offset-th on (0-based), at
// most count of them, that keep accepts (nil: all), reading the list a
// page of pageSize at a time through fetch (after: the id of the last item
// read, "" at first; items in id order). With total it reads the whole
// list and returns how many items keep accepts; without, total is -1 and
// the reading stops at the window's end.
func Window[T any](fetch func(after string, limit int) ([]T, error), id func(T) string, keep func(T) bool,
	offset, count int, total bool) ([]T, int, error) {
	const pageSize = 1000
	out := []T{}
	n, after := 0, ""
	for {
		page, err := fetch(after, pageSize)
		if err != nil {
			return nil, 0, err
		}
		for _, it := range page {
			if keep != nil && !keep(it) {
				continue
			}
			if n >= offset && len(out) < count {
				out = append(out, it)
			}
			n++
			if !total && len(out) == count {
				return out, -1, nil
			}
		}
		if len(page) < pageSize {
			break
		}
		after = id(page[len(page)-1])
	}
	if !total {
		n = -1
	}
	return out, n, nil
}

// Webhooks returns the webhooks of f (its Page is ignored) that keep
// accepts, from the offset-th, at most count, and their total (see
// Window).
func Webhooks(ctx context.Context, s hookd.WebhookStore, f hookd.WebhookFilter, keep func(*hookd.Webhook) bool,
	offset, count int, total bool) ([]*hookd.Webhook, int, error) {
	return Window(func(after string, limit int) ([]*hookd.Webhook, error) {
		f.Page = hookd.Page{After: after, Limit: limit}
		return s.ListWebhooks(ctx, f)
	}, func(w *hookd.Webhook) string { return w.ID }, keep, offset, count, total)
}

// MessageLister is what Messages reads through (every Store has it).
type MessageLister interface {
	ListMessages(ctx context.Context, tenantID string, f hookd.MessageFilter) ([]*hookd.Message, error)
	hookd.MessageTotaler
}

// Messages returns the messages of f (its Page and Offset are ignored) of
// tenant, from the offset-th (0-based), at most count, and with total
// their number (else -1). The Store skips to the page and counts in an
// index where one holds f (see hookd.MessageStore.ListMessages), reading
// no message it skips, so that a page costs about the same whatever the
// offset and however many messages the webhook keeps; an offset past
// the end skips at most the list's index entries (with total, none: the
// count says the page is empty). A negative offset is 0.
func Messages(ctx context.Context, s MessageLister, tenant string, f hookd.MessageFilter,
	offset, count int, total bool) ([]*hookd.Message, int, error) {
	offset = max(offset, 0)
	n := -1
	if total {
		var err error
		if n, err = s.CountMessagesMatching(ctx, tenant, f); err != nil {
			return nil, 0, err
		}
	}
	msgs := []*hookd.Message{}
	if count > 0 && (n < 0 || offset < n) {
		f.Page, f.Offset = hookd.Page{Limit: count}, offset
		var err error
		if msgs, err = s.ListMessages(ctx, tenant, f); err != nil {
			return nil, 0, err
		}
	}
	return msgs, n, nil
}

// SameURL returns a webhook of tenant other than except whose normalised
// URL is rawURL's, whatever its filter, or nil.
func SameURL(ctx context.Context, s hookd.WebhookStore, tenant, rawURL, except string) (*hookd.Webhook, error) {
	n, err := hookd.NormalizeURL(rawURL)
	if err != nil {
		return nil, nil
	}
	ws, err := s.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: tenant, URL: n, Page: hookd.Page{Limit: 2}})
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		if w.ID != except {
			return w, nil
		}
	}
	return nil, nil
}
