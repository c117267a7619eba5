package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"time"
)

// EventInput is one event to publish.
type EventInput struct {
	// Type is required: 1..255 of [A-Za-z0-9_.:-].
	Type string `json:"type"`
	// Payload is any value encoding/json can write (a json.RawMessage is
	// sent as it is); nil is sent as null.
	Payload any `json:"payload"`
	// Group orders delivery: a grouped webhook delivers one group's
	// messages one at a time, in publish order.
	Group string `json:"group,omitempty"`
	// Attributes are matched by webhooks' filters.
	Attributes map[string]string `json:"attributes,omitempty"`
	// IdempotencyKey makes publishing safe to repeat: the same key and body
	// within 24 h answers the first event's id with Duplicate, and the
	// client retries such a publish when an answer is lost.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// PublishResult is the answer for one published event.
type PublishResult struct {
	// ID is the event's id (the first event's, for a duplicate).
	ID string `json:"id"`
	// Messages is how many messages were created: one per matching
	// enabled webhook.
	Messages int `json:"messages"`
	// Duplicate: the idempotency key was seen with the same body; nothing
	// new was created.
	Duplicate bool `json:"duplicate,omitempty"`
}

// Event is a published event, as published.
type Event struct {
	ID         string            `json:"id"`
	TenantID   string            `json:"tenant_id"`
	Type       string            `json:"type"`
	Payload    json.RawMessage   `json:"payload"`
	Group      string            `json:"group"`
	Attributes map[string]string `json:"attributes"`
	// IdempotencyKey is "" when the event had none.
	IdempotencyKey string    `json:"idempotency_key"`
	CreatedAt      time.Time `json:"created_at"`
}

// EventListOptions filter a list of events.
type EventListOptions struct {
	ListOptions
	// Type is an exact event type.
	Type string
	// Since and Until bound the creation time (zero: unbounded).
	Since, Until time.Time
}

// EventsService publishes and reads a tenant's events:
// /v1/tenants/{tenant}/events.
type EventsService struct{ c *Client }

// Publish publishes one event. The event and its messages are on disk when
// it returns. With an IdempotencyKey, the call is retried on lost answers
// and a repeat answers Duplicate; the same key with another body → 409.
func (s *EventsService) Publish(ctx context.Context, tenant string, in *EventInput) (*PublishResult, error) {
	in = nonNil(in)
	var res PublishResult
	err := s.c.call(ctx, request{method: "POST", path: tenantPath(tenant, "events"), body: in,
		idempotent: in.IdempotencyKey != ""}, &res)
	return ret(&res, err)
}

// PublishBatch publishes up to 1000 events at once, all or nothing, and
// returns their results in order. It is retried on lost answers when every
// event has an IdempotencyKey.
func (s *EventsService) PublishBatch(ctx context.Context, tenant string, events []EventInput) ([]PublishResult, error) {
	keyed := len(events) > 0
	for _, e := range events {
		keyed = keyed && e.IdempotencyKey != ""
	}
	if events == nil {
		events = []EventInput{}
	}
	var a struct {
		Data []PublishResult `json:"data"`
	}
	err := s.c.call(ctx, request{method: "POST", path: tenantPath(tenant, "events", "batch"),
		body: map[string]any{"events": events}, idempotent: keyed}, &a)
	return a.Data, err
}

// Get returns an event.
func (s *EventsService) Get(ctx context.Context, tenant, id string) (*Event, error) {
	var e Event
	err := s.c.call(ctx, request{method: "GET", path: tenantPath(tenant, "events", id), idempotent: true}, &e)
	return ret(&e, err)
}

func (o *EventListOptions) values() url.Values {
	if o == nil {
		return nil
	}
	q := o.ListOptions.values(nil)
	if o.Type != "" {
		q.Set("type", o.Type)
	}
	setTime(q, "since", o.Since)
	setTime(q, "until", o.Until)
	return q
}

// List returns one page of the tenant's events that pass opts' filters.
func (s *EventsService) List(ctx context.Context, tenant string, opts *EventListOptions) (*Page[Event], error) {
	var p Page[Event]
	err := s.c.call(ctx, request{method: "GET", path: tenantPath(tenant, "events"), query: opts.values(), idempotent: true}, &p)
	return ret(&p, err)
}

// All iterates over every event that passes opts' filters, page by page.
func (s *EventsService) All(ctx context.Context, tenant string, opts *EventListOptions) iter.Seq2[*Event, error] {
	var o EventListOptions
	if opts != nil {
		o = *opts
	}
	return all(ctx, o.Cursor, func(ctx context.Context, cursor string) (*Page[Event], error) {
		page := o
		page.Cursor = cursor
		return s.List(ctx, tenant, &page)
	})
}
