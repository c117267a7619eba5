package httpapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/schema"
)

// DefaultCatalogTTL is how long a tenant's event type catalogue is served
// from memory when Server.CatalogTTL is 0.
const DefaultCatalogTTL = 5 * time.Second

// catalogCacheMax bounds the tenants whose catalogues are kept; beyond it
// an arbitrary one makes room.
const catalogCacheMax = 4096

// catalogLoadTimeout bounds one load of a catalogue.
const catalogLoadTimeout = 10 * time.Second

// catalogs keeps each tenant's event type catalogue in memory, so that a
// publish costs no query for it: every publish and every webhook change
// needs the catalogue, and most tenants have none. A change made through
// this process empties the tenant's entry before its answer (invalidate),
// so it holds here at once; another process on the same store serves its
// copy until it expires, after the TTL (docs/API.md says so). Schemas are
// compiled on first use and kept across reloads while their text is the
// same.
type catalogs struct {
	mu sync.Mutex
	m  map[string]*catalogEntry
}

// catalogEntry is one tenant's catalogue, or its loading: ready is closed
// once cat or err is set.
type catalogEntry struct {
	ready   chan struct{}
	cat     *tenantCatalog
	err     error
	expires time.Time
}

// tenantCatalog is a catalogue with its compiled schemas.
type tenantCatalog struct {
	*hookd.EventTypeCatalog
	mu       sync.Mutex
	compiled map[string]compiledSchema // by type name
}

type compiledSchema struct {
	text   string // the schema it was compiled from
	schema *schema.Schema
}

// get returns the tenant's catalogue, loading it through store when it is
// not kept or has expired. Concurrent callers wait for one load.
func (c *catalogs) get(ctx context.Context, store hookd.EventTypeStore, tenant string, ttl time.Duration, now time.Time) (*tenantCatalog, error) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*catalogEntry{}
	}
	e, ok := c.m[tenant]
	if ok {
		select {
		case <-e.ready:
			if e.err == nil && now.Before(e.expires) {
				c.mu.Unlock()
				return e.cat, nil
			}
		default: // loading: wait for it
			c.mu.Unlock()
			select {
			case <-e.ready:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if e.err != nil {
				return nil, e.err
			}
			return e.cat, nil
		}
	}
	var prev *tenantCatalog
	if ok {
		prev = e.cat
	}
	if !ok && len(c.m) >= catalogCacheMax {
		for t := range c.m {
			delete(c.m, t)
			break
		}
	}
	e = &catalogEntry{ready: make(chan struct{})}
	c.m[tenant] = e
	c.mu.Unlock()

	// The load serves every caller waiting for it: the first caller's
	// request ending must not fail the others.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), catalogLoadTimeout)
	e.cat, e.err = loadCatalog(lctx, store, tenant, prev)
	cancel()
	e.expires = now.Add(ttl)
	close(e.ready)
	if e.err != nil {
		c.mu.Lock()
		if c.m[tenant] == e {
			delete(c.m, tenant) // the next caller tries again
		}
		c.mu.Unlock()
		return nil, e.err
	}
	return e.cat, nil
}

// invalidate forgets the tenant's catalogue: the next caller loads it
// anew. A load under way is not served to callers that come after.
func (c *catalogs) invalidate(tenant string) {
	c.mu.Lock()
	delete(c.m, tenant)
	c.mu.Unlock()
}

// loadCatalog reads every event type of the tenant, archived ones
// included, keeping the schemas prev compiled that did not change.
func loadCatalog(ctx context.Context, store hookd.EventTypeStore, tenant string, prev *tenantCatalog) (*tenantCatalog, error) {
	var all []*hookd.EventType
	f := hookd.EventTypeFilter{Page: hookd.Page{Limit: hookd.MaxEventTypesPerTenant + 1}, IncludeArchived: true}
	for {
		page, err := store.ListEventTypes(ctx, tenant, f)
		if err != nil {
			return nil, fmt.Errorf("load event type catalogue: %w", err)
		}
		all = append(all, page...)
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].Name
	}
	tc := &tenantCatalog{EventTypeCatalog: hookd.NewEventTypeCatalog(all), compiled: map[string]compiledSchema{}}
	if prev != nil {
		prev.mu.Lock()
		for name, cs := range prev.compiled {
			if et, ok := tc.Lookup(name); ok && string(et.Schema) == cs.text {
				tc.compiled[name] = cs
			}
		}
		prev.mu.Unlock()
	}
	return tc, nil
}

// schemaOf returns the compiled schema of et (a type of this catalogue),
// nil when it has none. Schemas were checked when they were declared; one
// that does not compile now is an internal error.
func (tc *tenantCatalog) schemaOf(et *hookd.EventType) (*schema.Schema, error) {
	if len(et.Schema) == 0 {
		return nil, nil
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if cs, ok := tc.compiled[et.Name]; ok && cs.text == string(et.Schema) {
		return cs.schema, nil
	}
	s, fes := schema.Compile(et.Schema, "schema")
	if fes != nil {
		return nil, fmt.Errorf("stored schema of event type %s of tenant %s does not compile: %v", et.Name, et.TenantID, fes)
	}
	tc.compiled[et.Name] = compiledSchema{text: string(et.Schema), schema: s}
	return s, nil
}

// catalog returns the tenant's catalogue (see catalogs); an empty one when
// the server has no store to read it from.
func (s *Server) catalog(ctx context.Context, tenant string) (*tenantCatalog, error) {
	ttl := s.CatalogTTL
	if ttl <= 0 {
		ttl = DefaultCatalogTTL
	}
	var store hookd.EventTypeStore = s.types
	if s.Store != nil {
		store = s.Store
	}
	if store == nil {
		return &tenantCatalog{}, nil
	}
	return s.catalogs.get(ctx, store, tenant, ttl, time.Now())
}

// checkCatalog adds to f why events may not be published under the
// tenant's catalogue: an undeclared or archived type, a payload that does
// not follow its type's schema (each violation by its path). prefix names
// event i's fields.
func (s *Server) checkCatalog(ctx context.Context, tenant string, ins []hookd.EventInput, prefix func(i int) string, f *hookd.Fields) error {
	tc, err := s.catalog(ctx, tenant)
	if err != nil {
		return err
	}
	if tc.Empty() {
		return nil
	}
	for i := range ins {
		et := tc.CheckPublish(ins[i].Type, prefix(i), f)
		if et == nil {
			continue
		}
		sch, err := tc.schemaOf(et)
		if err != nil {
			return err
		}
		if sch != nil {
			*f = append(*f, sch.Validate(ins[i].Payload, prefix(i)+"payload")...)
		}
	}
	return nil
}
