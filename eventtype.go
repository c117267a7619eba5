package hookd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// EventType is one entry of a tenant's event type catalogue: a type the
// tenant declares it publishes, what it means and, optionally, the JSON
// Schema its payloads follow. A tenant that declares any event type may only
// publish declared ones, and its webhooks may only subscribe to them (see
// EventTypeCatalog). Archived types stay in the catalogue (existing
// subscriptions keep them) but may not be published or newly subscribed to.
type EventType struct {
	TenantID    string          `json:"tenant_id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"` // compact JSON Schema (an object); nil: none
	Archived    bool            `json:"archived"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// Limits of the catalogue. A tenant's whole catalogue is kept in memory by
// the API (see EventTypeCatalog's users), so it is bounded.
const (
	MaxEventTypesPerTenant = 1000
	MaxSchemaBytes         = 64 << 10 // a schema in its compact form
)

// OperationalEventTypePrefix starts the types of hookd's own operational
// events (`hookd.webhook.suspended`, `hookd.message.failed`, …), which hookd
// publishes into a tenant itself. A tenant cannot declare a type in this
// namespace, and a webhook may always subscribe to one, catalogue or not.
const OperationalEventTypePrefix = "hookd."

// Validate checks the event type's own fields (not its schema, which only a
// JSON Schema compiler can judge) and returns an EINVALID *Error listing
// every invalid field, or nil.
func (et *EventType) Validate() error {
	var f Fields
	switch {
	case et.Name == "":
		f.Add("name", "is required")
	case !EventTypePattern.MatchString(et.Name):
		f.Add("name", "must be 1..255 characters of [A-Za-z0-9_.:-]")
	case strings.HasPrefix(et.Name, OperationalEventTypePrefix):
		f.Add("name", "must not start with %q: hookd's own operational events use it", OperationalEventTypePrefix)
	}
	if utf8.RuneCountInString(et.Description) > MaxDescriptionLen {
		f.Add("description", "must be at most %d characters", MaxDescriptionLen)
	}
	if len(et.Schema) > MaxSchemaBytes {
		f.Add("schema", "must be at most %d bytes (compact JSON)", MaxSchemaBytes)
	}
	return f.Err()
}

// EventTypeFilter narrows ListEventTypes. Page.After is a name: types are
// listed in name order (bytewise).
type EventTypeFilter struct {
	Page
	IncludeArchived bool
}

// EventTypeStore keeps the tenants' event type catalogues. Methods return
// *Error with the codes they name; anything else is internal.
type EventTypeStore interface {
	// CreateEventType stores et, setting CreatedAt and UpdatedAt when zero.
	// ECONFLICT (ExistingID: the name) when the tenant has a type of that
	// name, or already MaxEventTypesPerTenant types; ENOTFOUND without
	// tenant.
	CreateEventType(ctx context.Context, et *EventType) error
	// GetEventType returns the tenant's type of that name; ENOTFOUND.
	GetEventType(ctx context.Context, tenantID, name string) (*EventType, error)
	// ListEventTypes returns one page of the tenant's types in name order,
	// archived ones only if asked; ENOTFOUND without tenant.
	ListEventTypes(ctx context.Context, tenantID string, f EventTypeFilter) ([]*EventType, error)
	// UpdateEventType replaces the description, schema and archived flag of
	// the stored type (et.TenantID, et.Name) and sets UpdatedAt, keeping
	// CreatedAt (written back to et); ENOTFOUND.
	UpdateEventType(ctx context.Context, et *EventType) error
	// DeleteEventType removes the type for good; ENOTFOUND. Webhooks that
	// subscribe to it keep their subscription.
	DeleteEventType(ctx context.Context, tenantID, name string) error
}

// EventTypeCatalog is a tenant's catalogue as the rules need it: the
// declared types by name. Its zero value (or nil) is an empty catalogue,
// under which every type is free.
type EventTypeCatalog struct {
	types  map[string]*EventType
	active []string // names of the types not archived
}

// NewEventTypeCatalog returns the catalogue of types (one tenant's).
func NewEventTypeCatalog(types []*EventType) *EventTypeCatalog {
	c := &EventTypeCatalog{types: make(map[string]*EventType, len(types))}
	for _, t := range types {
		c.types[t.Name] = t
		if !t.Archived {
			c.active = append(c.active, t.Name)
		}
	}
	return c
}

// Empty reports whether the tenant declared no type: then types are free.
func (c *EventTypeCatalog) Empty() bool { return c == nil || len(c.types) == 0 }

// Len returns how many types are declared, archived ones included.
func (c *EventTypeCatalog) Len() int {
	if c == nil {
		return 0
	}
	return len(c.types)
}

// Lookup returns the declared type of that name.
func (c *EventTypeCatalog) Lookup(name string) (*EventType, bool) {
	if c == nil {
		return nil, false
	}
	t, ok := c.types[name]
	return t, ok
}

// CheckPublish adds to f why an event of type name may not be published
// under the catalogue (field prefix+"type"), if it may not: the catalogue
// is not empty and the type is not declared, or archived. It returns the
// declared type when the event may be published and the catalogue has it
// (so that its payload is checked against its schema).
func (c *EventTypeCatalog) CheckPublish(name, prefix string, f *Fields) *EventType {
	if c.Empty() {
		return nil
	}
	t, ok := c.types[name]
	switch {
	case !ok:
		f.Add(prefix+"type", "is not a declared event type of this tenant; declare it at /v1/tenants/{tenant}/event-types first")
		return nil
	case t.Archived:
		f.Add(prefix+"type", `is archived; unarchive it ({"archived": false}) to publish it`)
		return nil
	}
	return t
}

// SubscriptionAllowed reports whether a webhook may subscribe with pattern
// (a valid event type pattern) under the catalogue: always when it is
// empty; else "*" and "all", patterns of hookd's operational events, and
// an exact type or a prefix that selects at least one declared type that
// is not archived.
func (c *EventTypeCatalog) SubscriptionAllowed(pattern string) bool {
	if c.Empty() || pattern == "*" || pattern == "all" ||
		strings.HasPrefix(pattern, OperationalEventTypePrefix) {
		return true
	}
	for _, name := range c.active {
		if MatchEventType(pattern, name) {
			return true
		}
	}
	return false
}

// CheckSubscriptions adds a field error `event_types[i]` to f for every
// pattern the catalogue does not allow (see SubscriptionAllowed), except
// those in kept: a webhook's patterns from before an update, accepted then,
// stay allowed, so that archiving or deleting a type never makes an
// unrelated change of a webhook fail. Patterns that are not valid are left
// to Webhook.Validate.
func (c *EventTypeCatalog) CheckSubscriptions(patterns, kept []string, f *Fields) {
	if c.Empty() {
		return
	}
	for i, p := range patterns {
		if !ValidEventTypePattern(p) || c.SubscriptionAllowed(p) {
			continue
		}
		old := false
		for _, k := range kept {
			old = old || k == p
		}
		if old {
			continue
		}
		f.Add(fmt.Sprintf("event_types[%d]", i), "matches no declared event type of this tenant (see /v1/tenants/{tenant}/event-types); archived types cannot be subscribed to")
	}
}
