// Package client is a Go client for hookd's REST API, version 1
// (docs/API.md): tenants, API keys, webhooks, events, messages and their
// attempts, portal links, the event type catalogue.
//
// Requests and answers are typed; every non-2xx answer is returned as an
// *Error carrying the problem document (with its field errors), so that
// IsNotFound(err), IsConflict(err) and the like decide on it. List calls
// return one page; the All… methods iterate over every page. Calls that
// are safe to repeat (GET, PUT, DELETE, and POSTs that carry an idempotency
// key) are retried on connection errors, 429 and 503, honouring
// Retry-After, with a bounded exponential backoff; see RetryPolicy.
//
//	c, err := client.New("http://127.0.0.1:8080", client.WithToken(key))
//	wh, err := c.Webhooks.Create(ctx, "acme", &client.WebhookInput{
//		Name: "erp", URL: "https://erp.example.com/hook", EventTypes: []string{"Unit.*"},
//	})
//	for m, err := range c.Messages.All(ctx, "acme", &client.MessageListOptions{WebhookID: wh.ID}) {
//		…
//	}
//
// Answers are decoded leniently: a field a newer server adds is ignored
// until this package knows it, so the client keeps working against newer
// servers.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultUserAgent is the User-Agent of requests unless WithUserAgent
// sets another.
const DefaultUserAgent = "hookd-client-go"

// maxAnswerBytes bounds how much of an answer is read: a list of 1000
// webhooks is well under it, and a broken or hostile server cannot make
// the client read without end.
const maxAnswerBytes = 64 << 20

// Client calls one hookd server. It is safe for concurrent use. Its
// services group the operations by resource; each takes the tenant id
// where the path has one.
type Client struct {
	// Tenants: /v1/tenants (root token only).
	Tenants *TenantsService
	// Keys: /v1/tenants/{tenant}/keys (admin scope).
	Keys *KeysService
	// Webhooks: /v1/tenants/{tenant}/webhooks.
	Webhooks *WebhooksService
	// Events: /v1/tenants/{tenant}/events.
	Events *EventsService
	// Messages: /v1/tenants/{tenant}/messages and their attempts.
	Messages *MessagesService
	// PortalLinks: /v1/tenants/{tenant}/portal-links (admin scope).
	PortalLinks *PortalLinksService
	// EventTypes: /v1/tenants/{tenant}/event-types, the catalogue.
	EventTypes *EventTypesService

	base      *url.URL
	token     string
	http      *http.Client
	userAgent string
	language  string
	retry     RetryPolicy
}

// Option configures a Client.
type Option func(*Client)

// WithToken authenticates every request with the bearer token (the root
// token or a tenant's API key).
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient sends requests with hc instead of a client of its own
// (for a proxy, TLS settings or a transport's timeouts). A timeout of hc
// bounds each attempt; the context bounds the whole call with its retries.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithAcceptLanguage asks for the problem documents' texts (Title,
// Detail, the field errors' messages) in a language: "de" for German,
// English otherwise; lang is an Accept-Language value ("de-DE",
// "en-US,en;q=0.9,de;q=0.8"). Problem types, fields and ids stay as they
// are.
func WithAcceptLanguage(lang string) Option { return func(c *Client) { c.language = lang } }

// WithRetryPolicy replaces DefaultRetryPolicy; RetryPolicy{} (MaxRetries
// 0) turns retries off.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// New returns a client of the server at baseURL (scheme and host, and a
// path prefix if hookd is served under one: "https://hooks.example.com",
// "http://127.0.0.1:8080"). It fails only on a base URL that is not an
// absolute http(s) URL.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hookd client: base URL %q: want http(s)://host[:port]", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	c := &Client{base: u, http: &http.Client{}, userAgent: DefaultUserAgent, retry: DefaultRetryPolicy}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	c.Tenants = &TenantsService{c}
	c.Keys = &KeysService{c}
	c.Webhooks = &WebhooksService{c}
	c.Events = &EventsService{c}
	c.Messages = &MessagesService{c}
	c.PortalLinks = &PortalLinksService{c}
	c.EventTypes = &EventTypesService{c}
	return c, nil
}

// BaseURL returns the server's base URL as given to New (without a
// trailing slash).
func (c *Client) BaseURL() string { return c.base.String() }

// request is one API call.
type request struct {
	method string
	path   []string // path segments after the base, each escaped
	query  url.Values
	body   any // JSON-encoded when not nil
	// idempotent: repeating the call cannot do more than doing it once, so
	// it may be retried after an answer was lost.
	idempotent bool
	// status, when not nil, receives the status of a 2xx answer (for
	// the calls whose answer differs only by it: PUT's 200 and 201).
	status *int
}

// call makes req and decodes a 2xx answer's JSON into out (when out is not
// nil and the answer has a body); any other answer is an *Error.
func (c *Client) call(ctx context.Context, req request, out any) error {
	var body []byte
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return fmt.Errorf("hookd client: encode %s body: %w", req.method, err)
		}
		body = b
	}
	target, err := c.url(req.path, req.query)
	if err != nil {
		return fmt.Errorf("hookd client: %s: %w", req.method, err)
	}

	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		hr, err := http.NewRequestWithContext(ctx, req.method, target, rd)
		if err != nil {
			return fmt.Errorf("hookd client: %s %s: %w", req.method, target, err)
		}
		hr.Header.Set("Accept", "application/json")
		hr.Header.Set("User-Agent", c.userAgent)
		if c.language != "" {
			hr.Header.Set("Accept-Language", c.language)
		}
		if body != nil {
			hr.Header.Set("Content-Type", "application/json")
		}
		if c.token != "" {
			hr.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := c.http.Do(hr)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("hookd client: %s %s: %w", req.method, hr.URL.Path, ctx.Err())
			}
			// A call that may not be repeated is retried only when the
			// connection could not even be made: then nothing was sent.
			if attempt < c.retry.MaxRetries && (req.idempotent || notSent(err)) {
				if werr := sleep(ctx, c.retry.backoff(attempt)); werr != nil {
					return fmt.Errorf("hookd client: %s %s: %w (after %w)", req.method, hr.URL.Path, werr, err)
				}
				continue
			}
			return fmt.Errorf("hookd client: %s %s: %w", req.method, hr.URL.Path, err)
		}
		data, rerr := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes))
		res.Body.Close()
		if rerr != nil {
			if ctx.Err() == nil && attempt < c.retry.MaxRetries && req.idempotent {
				if werr := sleep(ctx, c.retry.backoff(attempt)); werr != nil {
					return fmt.Errorf("hookd client: %s %s: %w (after %w)", req.method, hr.URL.Path, werr, rerr)
				}
				continue
			}
			return fmt.Errorf("hookd client: %s %s: read answer: %w", req.method, hr.URL.Path, rerr)
		}
		if res.StatusCode >= 200 && res.StatusCode < 300 {
			if req.status != nil {
				*req.status = res.StatusCode
			}
			if f, ok := ctx.Value(answerKey{}).(func([]byte)); ok {
				f(data)
			}
			if out == nil || len(bytes.TrimSpace(data)) == 0 {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("hookd client: %s %s: decode answer: %w", req.method, hr.URL.Path, err)
			}
			return nil
		}
		apiErr := newError(req.method, hr.URL.Path, res, data)
		if wait, ok := c.retry.retryAfter(attempt, req.idempotent, apiErr); ok {
			if werr := sleep(ctx, wait); werr != nil {
				return fmt.Errorf("%w (while waiting to retry: %w)", apiErr, werr)
			}
			continue
		}
		return apiErr
	}
}

// answerKey is the context key of WithAnswerFunc's function.
type answerKey struct{}

// WithAnswerFunc returns a context under which each call of a Client
// (the event stream aside) hands f the body of its 2xx answer exactly as
// the server sent it, before decoding it; f may keep body. It is for a
// caller that passes the server's JSON on, as the CLI's --json does:
// decoding into this package's types would drop every field a newer
// server adds. A call that fetches several pages (the All… iterators)
// hands f each page's body, in order; an answer without a body (204)
// hands it an empty one.
func WithAnswerFunc(ctx context.Context, f func(body []byte)) context.Context {
	return context.WithValue(ctx, answerKey{}, f)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// segments builds the path of a tenant's resource.
func tenantPath(tenant string, rest ...string) []string {
	return append([]string{"v1", "tenants", tenant}, rest...)
}
