package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Envelope is the body hookd POSTs for a message, and the data of each
// event of a stream (see Client.Stream).
type Envelope struct {
	// ID is the message's id, the webhook-id header; in a stream, where no
	// message exists, the event's id.
	ID      string `json:"id"`
	EventID string `json:"event_id"`
	Type    string `json:"type"`
	// Timestamp is when the event was published.
	Timestamp time.Time `json:"timestamp"`
	TenantID  string    `json:"tenant_id"`
	// Group is "" when the event has none.
	Group string `json:"group,omitempty"`
	// Data is the event's payload.
	Data json.RawMessage `json:"data"`
}

// StreamDelivery is one delivery received over a stream.
type StreamDelivery struct {
	Envelope
	// Body is the envelope as hookd would POST it, byte for byte: the
	// bytes to sign when forwarding it.
	Body []byte
	// Position is the stream's position after this delivery: a stream
	// opened with it as StreamOptions.LastEventID goes on from here.
	Position string
}

// StreamOptions configure a stream; the zero value streams every event
// type from now on.
type StreamOptions struct {
	// EventTypes are patterns as a webhook's event_types ("Unit.*",
	// "Lease.Signed", "*"); none: every type.
	EventTypes []string
	// LastEventID resumes after a StreamDelivery's Position instead of
	// starting with the events published from now on.
	LastEventID string
	// OnConnect, if set, is called each time the stream is (re)opened.
	OnConnect func()
	// OnDisconnect, if set, is called when an open stream or an attempt to
	// open one failed, with the reason and how long the stream waits
	// before it tries again.
	OnDisconnect func(err error, wait time.Duration)
	// IdleTimeout drops a connection on which nothing (not even the
	// server's heartbeat, every 15 s) came for this long, and reconnects
	// (0: 45 s).
	IdleTimeout time.Duration
}

// maxStreamLine bounds one line of a stream: an envelope with a payload at
// hookd's largest limit, escaped.
const maxStreamLine = 64 << 20

// Stream opens the tenant's event stream (GET /v1/tenants/{tenant}/stream,
// scope events:read) and yields a StreamDelivery for each event published
// from then on whose type matches opts.EventTypes, in the order they were
// stored. It holds on through failures: when the connection drops or the
// server answers 429 or 5xx it waits (the answer's Retry-After, else the
// client's RetryPolicy backoff, growing from MinBackoff to MaxBackoff and
// reset by each stream that opens) and resumes after the last delivery
// yielded, so that none is missed or, but for a reconnect's rare overlap,
// yielded twice. It ends when ctx ends (without an error), when the loop
// breaks, or on an answer no retry can change (400, 401, 403, 404), which
// is yielded as an *Error.
func (c *Client) Stream(ctx context.Context, tenant string, opts *StreamOptions) iter.Seq2[*StreamDelivery, error] {
	var o StreamOptions
	if opts != nil {
		o = *opts
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 45 * time.Second
	}
	return func(yield func(*StreamDelivery, error) bool) {
		last := o.LastEventID // each run of the iterator starts afresh
		for attempt := 0; ; {
			opened, err := c.streamOnce(ctx, tenant, &o, &last, yield)
			if opened {
				attempt = 0
			}
			if err == nil || ctx.Err() != nil {
				return // the loop broke, or ctx ended
			}
			var apiErr *Error
			if errors.As(err, &apiErr) && apiErr.Status != http.StatusTooManyRequests && apiErr.Status < 500 {
				yield(nil, err)
				return
			}
			wait := c.retry.backoff(attempt)
			if apiErr != nil && apiErr.RetryAfter > 0 {
				wait = apiErr.RetryAfter
			}
			attempt++
			if o.OnDisconnect != nil {
				o.OnDisconnect(err, wait)
			}
			if sleep(ctx, wait) != nil {
				return
			}
		}
	}
}

// errStreamEnded: the server closed the stream (it shuts down, or lost its
// store); the stream reconnects.
var errStreamEnded = errors.New("the server closed the stream")

// streamOnce opens the stream once and yields its deliveries until it
// ends; opened says whether the server answered 200. It returns nil when
// the consumer stopped (or ctx ended), else why the stream ended.
func (c *Client) streamOnce(ctx context.Context, tenant string, o *StreamOptions, last *string, yield func(*StreamDelivery, error) bool) (opened bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q := url.Values{}
	for _, p := range o.EventTypes {
		q.Add("event_type", p)
	}
	u, err := c.url(tenantPath(tenant, "stream"), q)
	if err != nil {
		return false, fmt.Errorf("hookd client: GET: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("hookd client: GET %s: %w", u, err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", c.userAgent)
	if c.language != "" {
		req.Header.Set("Accept-Language", c.language)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if *last != "" {
		req.Header.Set("Last-Event-ID", *last)
	}
	// The idle timer cancels a connection that went silent: a server that
	// died without closing it (a lost network) sends no heartbeat.
	idle := time.AfterFunc(o.IdleTimeout, cancel)
	defer idle.Stop()
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && idle.Stop() {
			return false, nil // the caller's ctx ended
		}
		return false, fmt.Errorf("hookd client: GET %s: %w", req.URL.Path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		return false, newError(http.MethodGet, req.URL.Path, res, data)
	}
	if o.OnConnect != nil {
		o.OnConnect()
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxStreamLine)
	var id, event string
	var data bytes.Buffer
	for sc.Scan() {
		idle.Reset(o.IdleTimeout)
		line := sc.Bytes()
		if len(line) == 0 { // the end of an event: dispatch it
			if event == "delivery" && data.Len() > 0 {
				d := &StreamDelivery{Body: bytes.Clone(data.Bytes()), Position: id}
				if err := json.Unmarshal(d.Body, &d.Envelope); err != nil {
					return true, fmt.Errorf("hookd client: stream: a delivery that is not an envelope: %w", err)
				}
				if !yield(d, nil) {
					return true, nil
				}
				if id != "" {
					*last = id
				}
			}
			event = ""
			data.Reset()
			continue
		}
		if line[0] == ':' { // a comment: the heartbeat
			continue
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(field) {
		case "event":
			event = string(value)
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.Write(value)
		case "id":
			id = string(value)
		}
	}
	if ctx.Err() != nil && idle.Stop() {
		return true, nil // the caller's ctx ended
	}
	if err := sc.Err(); err != nil {
		return true, fmt.Errorf("hookd client: stream: %w", err)
	}
	return true, errStreamEnded
}

// url returns the absolute URL of a path below the base, with a query.
func (c *Client) url(path []string, q url.Values) (string, error) {
	u := *c.base
	var p strings.Builder
	p.WriteString(c.base.EscapedPath())
	for _, s := range path {
		// An empty id would address the collection, and a dot segment
		// another resource once the server cleans the path.
		if s == "" || s == "." || s == ".." {
			return "", fmt.Errorf("an id may not be %q", s)
		}
		p.WriteByte('/')
		p.WriteString(url.PathEscape(s))
	}
	u.RawPath = p.String()
	if path, err := url.PathUnescape(u.RawPath); err == nil {
		u.Path = path
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// Caller is who a token is: the root token, or an API key of a tenant.
type Caller struct {
	Root bool `json:"root"`
	// Key is the API key (without its token), nil for the root token.
	Key *APIKey `json:"key"`
}

// Whoami returns who the client's token is (GET /v1/whoami): a tool given
// a tenant's API key learns the tenant from Key.TenantID.
func (c *Client) Whoami(ctx context.Context) (*Caller, error) {
	var w Caller
	err := c.call(ctx, request{method: "GET", path: []string{"v1", "whoami"}, idempotent: true}, &w)
	return ret(&w, err)
}

// Ready reports whether the server is ready to serve (GET /readyz): nil,
// or an *Error whose Detail says why not (503: the store is unreachable
// or takes no writes). It is not retried: a caller waiting for a server
// to start polls it.
func (c *Client) Ready(ctx context.Context) error {
	return c.call(ctx, request{method: "GET", path: []string{"readyz"}}, nil)
}
