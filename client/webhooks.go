package client

import (
	"context"
	"iter"
	"net/url"
	"time"
)

// Webhook is a registration: where and how to deliver which of a tenant's
// events. See docs/API.md for each field's rules.
type Webhook struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	// Number is the webhook's number in its tenant, 1, 2, 3, … in order
	// of creation, never reused.
	Number      int    `json:"number"`
	Name        string `json:"name"`
	Description string `json:"description"`
	URL         string `json:"url"`
	Enabled     bool   `json:"enabled"`
	// EventTypes are exact types, "*" or "all", or prefixes ending in ".*".
	EventTypes []string `json:"event_types"`
	// Filter: an event matches only if each pair equals one of its
	// attributes.
	Filter  map[string]string   `json:"filter"`
	Headers map[string][]string `json:"headers"`
	// Auth is nil without auth; only Type and Username are shown.
	Auth *Auth `json:"auth"`
	// Secrets are the signing secrets, in Create's answer only (see
	// WebhooksService.Secrets).
	Secrets    []string `json:"secrets,omitempty"`
	TimeoutMS  int      `json:"timeout_ms"`
	MaxRetries int      `json:"max_retries"`
	// RetrySchedule is nil when the webhook uses the server's schedule.
	RetrySchedule     []Duration      `json:"retry_schedule"`
	Grouped           bool            `json:"grouped"`
	ContinueOnFailure bool            `json:"continue_on_failure"`
	FailureHandling   FailureHandling `json:"failure_handling"`
	// RateLimit is deliveries per second, 0 when unlimited.
	RateLimit int `json:"rate_limit"`
	// MaxInFlight bounds the webhook's attempts at once; nil when the
	// server's default (--max-in-flight) applies.
	MaxInFlight *int       `json:"max_in_flight"`
	Suspended   bool       `json:"suspended"`
	SuspendedAt *time.Time `json:"suspended_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Auth is how hookd authenticates towards the target: Type "basic" with
// Username and Password, or "bearer" with Token. Password and Token are
// written, never read back.
type Auth struct {
	Type     string `json:"type"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
}

// Auth types.
const (
	AuthBasic  = "basic"
	AuthBearer = "bearer"
)

// FailureHandling says when a failing webhook is suspended: once every
// attempt since the first failure of a streak failed for SuspendAfter (0:
// never).
type FailureHandling struct {
	SuspendAfter Duration `json:"suspend_after"`
}

// WebhookInput is the body of a create or a PUT (full replacement): a field
// left at its zero value (or nil) is left out, and the server uses its
// default. The pointer fields are those whose zero value is not the
// default.
type WebhookInput struct {
	Name        string              `json:"name,omitempty"`
	Description string              `json:"description,omitempty"`
	URL         string              `json:"url,omitempty"`
	Enabled     *bool               `json:"enabled,omitempty"` // default true
	EventTypes  []string            `json:"event_types,omitempty"`
	Filter      map[string]string   `json:"filter,omitempty"`
	Headers     map[string][]string `json:"headers,omitempty"`
	Auth        *Auth               `json:"auth,omitempty"`
	// Secrets: 0..2 signing secrets; none has the server generate one on
	// create, and keeps the current ones on PUT.
	Secrets           []string         `json:"secrets,omitempty"`
	TimeoutMS         int              `json:"timeout_ms,omitempty"`
	MaxRetries        *int             `json:"max_retries,omitempty"` // default 6
	RetrySchedule     []Duration       `json:"retry_schedule,omitempty"`
	Grouped           bool             `json:"grouped,omitempty"`
	ContinueOnFailure bool             `json:"continue_on_failure,omitempty"`
	FailureHandling   *FailureHandling `json:"failure_handling,omitempty"` // default 120h
	RateLimit         int              `json:"rate_limit,omitempty"`
	MaxInFlight       *int             `json:"max_in_flight,omitempty"` // default: the server's
}

// WebhookPatch is the body of a PATCH: each Optional field left absent
// keeps its value, Null resets it to its default, Set replaces it. The
// add/remove lists change event_types and headers in place: removals
// first, then additions; headers merge per name, case-insensitively.
type WebhookPatch struct {
	Name              Optional[string]              `json:"name,omitzero"`
	Description       Optional[string]              `json:"description,omitzero"`
	URL               Optional[string]              `json:"url,omitzero"`
	Enabled           Optional[bool]                `json:"enabled,omitzero"`
	EventTypes        Optional[[]string]            `json:"event_types,omitzero"`
	Filter            Optional[map[string]string]   `json:"filter,omitzero"`
	Headers           Optional[map[string][]string] `json:"headers,omitzero"`
	Auth              Optional[Auth]                `json:"auth,omitzero"`
	Secrets           Optional[[]string]            `json:"secrets,omitzero"`
	TimeoutMS         Optional[int]                 `json:"timeout_ms,omitzero"`
	MaxRetries        Optional[int]                 `json:"max_retries,omitzero"`
	RetrySchedule     Optional[[]Duration]          `json:"retry_schedule,omitzero"`
	Grouped           Optional[bool]                `json:"grouped,omitzero"`
	ContinueOnFailure Optional[bool]                `json:"continue_on_failure,omitzero"`
	FailureHandling   Optional[FailureHandling]     `json:"failure_handling,omitzero"`
	RateLimit         Optional[int]                 `json:"rate_limit,omitzero"`
	MaxInFlight       Optional[int]                 `json:"max_in_flight,omitzero"`

	AddEventTypes    []string            `json:"add_event_types,omitempty"`
	RemoveEventTypes []string            `json:"remove_event_types,omitempty"`
	AddHeaders       map[string][]string `json:"add_headers,omitempty"`
	RemoveHeaders    []string            `json:"remove_headers,omitempty"`
}

// WebhookListOptions filter a list of webhooks; every filter set must hold.
type WebhookListOptions struct {
	ListOptions
	// Name is a case-insensitive substring of the name.
	Name string
	// URL is the exact URL, normalised (scheme and host lower-cased,
	// default port dropped); URLPrefix a prefix of it.
	URL       string
	URLPrefix string
	Enabled   *bool
	Suspended *bool
	// Active is enabled and not suspended.
	Active *bool
	// EventTypes: webhooks that would receive any of these types, or have
	// one of them among their patterns.
	EventTypes []string
}

func (o *WebhookListOptions) values() url.Values {
	if o == nil {
		return nil
	}
	q := o.ListOptions.values(nil)
	if o.Name != "" {
		q.Set("name", o.Name)
	}
	if o.URL != "" {
		q.Set("url", o.URL)
	}
	if o.URLPrefix != "" {
		q.Set("url_prefix", o.URLPrefix)
	}
	setBool(q, "enabled", o.Enabled)
	setBool(q, "suspended", o.Suspended)
	setBool(q, "active", o.Active)
	for _, t := range o.EventTypes {
		q.Add("event_type", t)
	}
	return q
}

// TestInput is the event a test call sends; every field is optional
// (type "webhook.test", payload {}).
type TestInput struct {
	Type string `json:"type,omitempty"`
	// Payload is any value encoding/json can write; a json.RawMessage is
	// sent as it is.
	Payload any `json:"payload,omitempty"`
	// Headers are sent with this call only, over the webhook's own
	// headers (a name replaces the webhook's header of that name), and
	// never stored; the webhook's header rules apply.
	Headers map[string][]string `json:"headers,omitempty"`
}

// RecoverInput is the window of a recover: failed messages created at or
// after Since and before Until (zero: now) are queued again.
type RecoverInput struct {
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

// WebhooksService manages a tenant's webhooks:
// /v1/tenants/{tenant}/webhooks.
type WebhooksService struct{ c *Client }

func webhookPath(tenant string, rest ...string) []string {
	return tenantPath(tenant, append([]string{"webhooks"}, rest...)...)
}

// Create registers a webhook; the answer carries its Secrets. A webhook of
// the tenant with the same normalised URL → 409 with ExistingID.
func (s *WebhooksService) Create(ctx context.Context, tenant string, in *WebhookInput) (*Webhook, error) {
	var w Webhook
	err := s.c.call(ctx, request{method: "POST", path: webhookPath(tenant), body: nonNil(in)}, &w)
	return ret(&w, err)
}

// Get returns a webhook.
func (s *WebhooksService) Get(ctx context.Context, tenant, id string) (*Webhook, error) {
	var w Webhook
	err := s.c.call(ctx, request{method: "GET", path: webhookPath(tenant, id), idempotent: true}, &w)
	return ret(&w, err)
}

// List returns one page of the tenant's webhooks that pass opts' filters.
func (s *WebhooksService) List(ctx context.Context, tenant string, opts *WebhookListOptions) (*Page[Webhook], error) {
	var p Page[Webhook]
	err := s.c.call(ctx, request{method: "GET", path: webhookPath(tenant), query: opts.values(), idempotent: true}, &p)
	return ret(&p, err)
}

// All iterates over every webhook that passes opts' filters, page by page.
func (s *WebhooksService) All(ctx context.Context, tenant string, opts *WebhookListOptions) iter.Seq2[*Webhook, error] {
	var o WebhookListOptions
	if opts != nil {
		o = *opts
	}
	return all(ctx, o.Cursor, func(ctx context.Context, cursor string) (*Page[Webhook], error) {
		page := o
		page.Cursor = cursor
		return s.List(ctx, tenant, &page)
	})
}

// Replace replaces a webhook (PUT): a field left out goes back to its
// default; the secrets stay unless given.
func (s *WebhooksService) Replace(ctx context.Context, tenant, id string, in *WebhookInput) (*Webhook, error) {
	var w Webhook
	err := s.c.call(ctx, request{method: "PUT", path: webhookPath(tenant, id), body: nonNil(in), idempotent: true}, &w)
	return ret(&w, err)
}

// Patch changes the fields of a webhook that p sets (PATCH); the result is
// validated like a create.
func (s *WebhooksService) Patch(ctx context.Context, tenant, id string, p *WebhookPatch) (*Webhook, error) {
	var w Webhook
	err := s.c.call(ctx, request{method: "PATCH", path: webhookPath(tenant, id), body: nonNil(p)}, &w)
	return ret(&w, err)
}

// Delete deletes a webhook; its undelivered messages become aborted.
func (s *WebhooksService) Delete(ctx context.Context, tenant, id string) error {
	return s.c.call(ctx, request{method: "DELETE", path: webhookPath(tenant, id), idempotent: true}, nil)
}

// Unsuspend resumes a suspended webhook: its held messages are delivered
// in order. On a webhook that is not suspended it changes nothing, which
// makes it safe to retry.
func (s *WebhooksService) Unsuspend(ctx context.Context, tenant, id string) (*Webhook, error) {
	var w Webhook
	err := s.c.call(ctx, request{method: "POST", path: webhookPath(tenant, id, "unsuspend"), idempotent: true}, &w)
	return ret(&w, err)
}

// Test sends one test event to the webhook at once and returns the
// attempt, recorded like any other (trigger "test"). A server without a
// delivery engine answers 503.
func (s *WebhooksService) Test(ctx context.Context, tenant, id string, in *TestInput) (*Attempt, error) {
	var a Attempt
	err := s.c.call(ctx, request{method: "POST", path: webhookPath(tenant, id, "test"), body: nonNil(in)}, &a)
	return ret(&a, err)
}

type secretsAnswer struct {
	Secrets []string `json:"secrets"`
}

// Secrets returns the webhook's active signing secrets, newest first
// (scope webhooks:write).
func (s *WebhooksService) Secrets(ctx context.Context, tenant, id string) ([]string, error) {
	var a secretsAnswer
	err := s.c.call(ctx, request{method: "GET", path: webhookPath(tenant, id, "secrets"), idempotent: true}, &a)
	return a.Secrets, err
}

// RotateSecret makes secret (or, when "", a generated one) the webhook's
// first signing secret; the previous one keeps signing beside it for 24 h.
// It returns the active secrets, newest first.
func (s *WebhooksService) RotateSecret(ctx context.Context, tenant, id, secret string) ([]string, error) {
	body := map[string]string{}
	if secret != "" {
		body["secret"] = secret
	}
	var a secretsAnswer
	err := s.c.call(ctx, request{method: "POST", path: webhookPath(tenant, id, "secrets", "rotate"), body: body}, &a)
	return a.Secrets, err
}

// Recover queues again every failed message of the webhook created in the
// window, and returns how many.
func (s *WebhooksService) Recover(ctx context.Context, tenant, id string, in *RecoverInput) (int, error) {
	var a struct {
		Count int `json:"count"`
	}
	err := s.c.call(ctx, request{method: "POST", path: webhookPath(tenant, id, "recover"), body: nonNil(in)}, &a)
	return a.Count, err
}

// nonNil returns v, or an empty value of its type for nil, so that a body
// is always an object ({}), never null.
func nonNil[T any](v *T) *T {
	if v == nil {
		return new(T)
	}
	return v
}
