package client

import (
	"context"
	"iter"
	"net/url"
	"time"
)

// MessageState is the delivery state of a message.
type MessageState string

// The message states.
const (
	StateCreated    MessageState = "created"    // stored, first attempt not yet made
	StatePending    MessageState = "pending"    // held: behind its group, or its webhook is suspended or disabled
	StateRetrying   MessageState = "retrying"   // an attempt failed, the next is scheduled
	StateSuccessful MessageState = "successful" // an attempt got a 2xx
	StateFailed     MessageState = "failed"     // every attempt failed
	StateAborted    MessageState = "aborted"    // ended by hand, or its webhook was deleted
	StateResolved   MessageState = "resolved"   // marked resolved by hand
)

// States lists every message state.
var States = []MessageState{StateCreated, StatePending, StateRetrying,
	StateSuccessful, StateFailed, StateAborted, StateResolved}

// Message is one event for one webhook.
type Message struct {
	ID        string       `json:"id"`
	TenantID  string       `json:"tenant_id"`
	WebhookID string       `json:"webhook_id"`
	EventID   string       `json:"event_id"`
	EventType string       `json:"event_type"`
	Group     string       `json:"group"`
	State     MessageState `json:"state"`
	// AttemptCount is every attempt ever made.
	AttemptCount  int        `json:"attempt_count"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	// LastStatusCode is 0 and LastError "" when there is none.
	LastStatusCode int       `json:"last_status_code"`
	LastError      string    `json:"last_error"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Attempt is one delivery attempt of a message (or a test call).
type Attempt struct {
	ID        string `json:"id"`
	TenantID  string `json:"tenant_id"`
	MessageID string `json:"message_id"`
	WebhookID string `json:"webhook_id"`
	Number    int    `json:"number"`
	// Trigger is "scheduled", "manual" or "test".
	Trigger    string    `json:"trigger"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	// StatusCode is 0 when no answer came.
	StatusCode int `json:"status_code"`
	// Error is "" on success, else what went wrong ("timeout",
	// "connection_refused", "http_status", …).
	Error string `json:"error"`
	// ResponseBody is the first 4 KiB of the answer.
	ResponseBody string `json:"response_body"`
	Success      bool   `json:"success"`
}

// MessageListOptions filter a list of messages.
type MessageListOptions struct {
	ListOptions
	WebhookID string
	EventID   string
	// States: messages in any of these states.
	States    []MessageState
	EventType string
	// Since and Until bound the creation time (zero: unbounded).
	Since, Until time.Time
}

func (o *MessageListOptions) values() url.Values {
	if o == nil {
		return nil
	}
	q := o.ListOptions.values(nil)
	if o.WebhookID != "" {
		q.Set("webhook_id", o.WebhookID)
	}
	if o.EventID != "" {
		q.Set("event_id", o.EventID)
	}
	for _, st := range o.States {
		q.Add("state", string(st))
	}
	if o.EventType != "" {
		q.Set("event_type", o.EventType)
	}
	setTime(q, "since", o.Since)
	setTime(q, "until", o.Until)
	return q
}

// MessagesService reads and acts on a tenant's messages and their
// attempts: /v1/tenants/{tenant}/messages.
type MessagesService struct{ c *Client }

func messagePath(tenant string, rest ...string) []string {
	return tenantPath(tenant, append([]string{"messages"}, rest...)...)
}

// List returns one page of the tenant's messages that pass opts' filters.
func (s *MessagesService) List(ctx context.Context, tenant string, opts *MessageListOptions) (*Page[Message], error) {
	var p Page[Message]
	err := s.c.call(ctx, request{method: "GET", path: messagePath(tenant), query: opts.values(), idempotent: true}, &p)
	return ret(&p, err)
}

// All iterates over every message that passes opts' filters, page by page.
func (s *MessagesService) All(ctx context.Context, tenant string, opts *MessageListOptions) iter.Seq2[*Message, error] {
	var o MessageListOptions
	if opts != nil {
		o = *opts
	}
	return all(ctx, o.Cursor, func(ctx context.Context, cursor string) (*Page[Message], error) {
		page := o
		page.Cursor = cursor
		return s.List(ctx, tenant, &page)
	})
}

// Get returns a message.
func (s *MessagesService) Get(ctx context.Context, tenant, id string) (*Message, error) {
	var m Message
	err := s.c.call(ctx, request{method: "GET", path: messagePath(tenant, id), idempotent: true}, &m)
	return ret(&m, err)
}

// Attempts returns one page of a message's attempts, oldest first.
func (s *MessagesService) Attempts(ctx context.Context, tenant, id string, opts *ListOptions) (*Page[Attempt], error) {
	var p Page[Attempt]
	err := s.c.call(ctx, request{method: "GET", path: messagePath(tenant, id, "attempts"), query: opts.values(nil), idempotent: true}, &p)
	return ret(&p, err)
}

// AllAttempts iterates over every attempt of a message.
func (s *MessagesService) AllAttempts(ctx context.Context, tenant, id string, opts *ListOptions) iter.Seq2[*Attempt, error] {
	return all(ctx, cursorOf(opts), func(ctx context.Context, cursor string) (*Page[Attempt], error) {
		return s.Attempts(ctx, tenant, id, withCursor(opts, cursor))
	})
}

// action posts one of a message's actions.
func (s *MessagesService) action(ctx context.Context, tenant, id, name string) (*Message, error) {
	var m Message
	err := s.c.call(ctx, request{method: "POST", path: messagePath(tenant, id, name)}, &m)
	return ret(&m, err)
}

// Retry makes a new attempt of the message at once (any state but
// successful: 409), its attempts counted anew.
func (s *MessagesService) Retry(ctx context.Context, tenant, id string) (*Message, error) {
	return s.action(ctx, tenant, id, "retry")
}

// Abort ends the message without further attempts; a transition that makes
// no sense → 409.
func (s *MessagesService) Abort(ctx context.Context, tenant, id string) (*Message, error) {
	return s.action(ctx, tenant, id, "abort")
}

// Resolve marks the message resolved by hand, which unblocks its group; a
// transition that makes no sense → 409.
func (s *MessagesService) Resolve(ctx context.Context, tenant, id string) (*Message, error) {
	return s.action(ctx, tenant, id, "resolve")
}
