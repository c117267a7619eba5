package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// EventType is a type a tenant declared in its catalogue. Once a tenant
// has any, it may publish only declared types that are not archived, with
// payloads that follow their schemas, and webhooks may subscribe only to
// patterns that select one.
type EventType struct {
	// Name is the type's key ("Unit.Updated"), never renamed.
	Name        string `json:"name"`
	TenantID    string `json:"tenant_id"`
	Description string `json:"description"`
	// Schema is the JSON Schema of the payload, null without one.
	Schema json.RawMessage `json:"schema"`
	// Archived: the type may no longer be published or newly subscribed
	// to.
	Archived  bool      `json:"archived"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EventTypeInput is the body of a create or a PUT (declare): a field left
// at its zero value goes to its default.
type EventTypeInput struct {
	// Name is required on create; on PUT it is the path's (and may be
	// left out).
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Schema is a JSON Schema (draft 2020-12 unless its $schema names
	// another): a json.RawMessage, or any value encoding/json writes.
	Schema   any  `json:"schema,omitempty"`
	Archived bool `json:"archived,omitempty"`
}

// EventTypePatch is the body of a PATCH: absent keeps, Null resets, Set
// replaces.
type EventTypePatch struct {
	Description Optional[string]          `json:"description,omitzero"`
	Schema      Optional[json.RawMessage] `json:"schema,omitzero"`
	Archived    Optional[bool]            `json:"archived,omitzero"`
}

// EventTypeListOptions page through a catalogue, in name order.
type EventTypeListOptions struct {
	ListOptions
	// IncludeArchived lists archived types too.
	IncludeArchived bool
}

func (o *EventTypeListOptions) values() url.Values {
	if o == nil {
		return nil
	}
	q := o.ListOptions.values(nil)
	if o.IncludeArchived {
		q.Set("include_archived", "true")
	}
	return q
}

// EventTypesService manages a tenant's event type catalogue:
// /v1/tenants/{tenant}/event-types. Reading needs events:read or
// webhooks:read, every change admin.
type EventTypesService struct{ c *Client }

func eventTypePath(tenant string, rest ...string) []string {
	return tenantPath(tenant, append([]string{"event-types"}, rest...)...)
}

// Create declares a type. A name the tenant has (archived or not) → 409
// with ExistingID the name; an invalid schema → 400 naming the place in it.
func (s *EventTypesService) Create(ctx context.Context, tenant string, in *EventTypeInput) (*EventType, error) {
	var et EventType
	err := s.c.call(ctx, request{method: "POST", path: eventTypePath(tenant), body: nonNil(in)}, &et)
	return ret(&et, err)
}

// Get returns a type, archived or not.
func (s *EventTypesService) Get(ctx context.Context, tenant, name string) (*EventType, error) {
	var et EventType
	err := s.c.call(ctx, request{method: "GET", path: eventTypePath(tenant, name), idempotent: true}, &et)
	return ret(&et, err)
}

// List returns one page of the tenant's types, in name order.
func (s *EventTypesService) List(ctx context.Context, tenant string, opts *EventTypeListOptions) (*Page[EventType], error) {
	var p Page[EventType]
	err := s.c.call(ctx, request{method: "GET", path: eventTypePath(tenant), query: opts.values(), idempotent: true}, &p)
	return ret(&p, err)
}

// All iterates over every type of the catalogue, page by page.
func (s *EventTypesService) All(ctx context.Context, tenant string, opts *EventTypeListOptions) iter.Seq2[*EventType, error] {
	var o EventTypeListOptions
	if opts != nil {
		o = *opts
	}
	return all(ctx, o.Cursor, func(ctx context.Context, cursor string) (*Page[EventType], error) {
		page := o
		page.Cursor = cursor
		return s.List(ctx, tenant, &page)
	})
}

// Put declares the type name with in (PUT): it creates it, or replaces
// its description, schema and archived flag (a field left out goes back to
// its default); created says which. It is idempotent, for a deploy that
// declares its types every time, and retried like one.
func (s *EventTypesService) Put(ctx context.Context, tenant, name string, in *EventTypeInput) (et *EventType, created bool, err error) {
	var v EventType
	status := 0
	err = s.c.call(ctx, request{method: "PUT", path: eventTypePath(tenant, name), body: nonNil(in), idempotent: true, status: &status}, &v)
	if err != nil {
		return nil, false, err
	}
	return &v, status == http.StatusCreated, nil
}

// Patch changes the fields of a type that p sets.
func (s *EventTypesService) Patch(ctx context.Context, tenant, name string, p *EventTypePatch) (*EventType, error) {
	var et EventType
	err := s.c.call(ctx, request{method: "PATCH", path: eventTypePath(tenant, name), body: nonNil(p)}, &et)
	return ret(&et, err)
}

// Delete archives a type (DELETE): it stays in the catalogue, may not be
// published any more, and webhooks keep their subscriptions.
func (s *EventTypesService) Delete(ctx context.Context, tenant, name string) error {
	return s.c.call(ctx, request{method: "DELETE", path: eventTypePath(tenant, name), idempotent: true}, nil)
}

// Expunge deletes a type for good (DELETE ?expunge=true); once none is
// left, the tenant's types are free again.
func (s *EventTypesService) Expunge(ctx context.Context, tenant, name string) error {
	return s.c.call(ctx, request{method: "DELETE", path: eventTypePath(tenant, name),
		query: url.Values{"expunge": {"true"}}, idempotent: true}, nil)
}
