package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func mustEventType(t *testing.T, s hookd.Store, tenantID, name string, opts ...func(*hookd.EventType)) *hookd.EventType {
	t.Helper()
	et := &hookd.EventType{TenantID: tenantID, Name: name, Description: "about " + name, CreatedAt: T0}
	for _, o := range opts {
		o(et)
	}
	must(t, s.CreateEventType(ctx, et))
	return et
}

func eventTypeNames(t *testing.T, s hookd.Store, tenantID string, f hookd.EventTypeFilter) []string {
	t.Helper()
	got, err := s.ListEventTypes(ctx, tenantID, f)
	must(t, err)
	return ids(got, func(et *hookd.EventType) string { return et.Name })
}

// Event types: create, read, list in name order with archived ones on
// request, update, delete; per tenant.
func testEventTypes(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	schema := json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"}}}`)
	unit := mustEventType(t, s, "a", "Unit.Updated", func(et *hookd.EventType) { et.Schema = schema })
	mustEventType(t, s, "a", "Unit.Created")
	mustEventType(t, s, "a", "_log.door:opened", func(et *hookd.EventType) { et.Archived = true })
	mustEventType(t, s, "b", "Unit.Updated")

	got, err := s.GetEventType(ctx, "a", "Unit.Updated")
	must(t, err)
	if got.TenantID != "a" || got.Name != "Unit.Updated" || got.Description != "about Unit.Updated" ||
		string(got.Schema) != string(schema) || got.Archived || !got.CreatedAt.Equal(T0) || !got.UpdatedAt.Equal(T0) {
		t.Fatalf("GetEventType = %+v, want %+v", got, unit)
	}
	got, err = s.GetEventType(ctx, "a", "Unit.Created")
	must(t, err)
	if got.Schema != nil {
		t.Fatalf("a type declared without schema reads back schema %q, want none", got.Schema)
	}
	_, err = s.GetEventType(ctx, "a", "Unit.Deleted")
	wantCode(t, err, hookd.ENOTFOUND)

	err = s.CreateEventType(ctx, &hookd.EventType{TenantID: "a", Name: "Unit.Updated"})
	wantCode(t, err, hookd.ECONFLICT)
	if he := err.(*hookd.Error); he.ExistingID != "Unit.Updated" {
		t.Fatalf("duplicate's ExistingID = %q, want the name", he.ExistingID)
	}
	wantCode(t, s.CreateEventType(ctx, &hookd.EventType{TenantID: "nope", Name: "x"}), hookd.ENOTFOUND)

	// Name order is bytewise: upper case before '_' before lower case.
	if got, want := eventTypeNames(t, s, "a", hookd.EventTypeFilter{}), []string{"Unit.Created", "Unit.Updated"}; !slices.Equal(got, want) {
		t.Fatalf("ListEventTypes = %v, want %v", got, want)
	}
	all := hookd.EventTypeFilter{IncludeArchived: true}
	if got, want := eventTypeNames(t, s, "a", all), []string{"Unit.Created", "Unit.Updated", "_log.door:opened"}; !slices.Equal(got, want) {
		t.Fatalf("ListEventTypes with archived = %v, want %v", got, want)
	}
	page := hookd.EventTypeFilter{Page: hookd.Page{Limit: 1, After: "Unit.Created"}, IncludeArchived: true}
	if got, want := eventTypeNames(t, s, "a", page), []string{"Unit.Updated"}; !slices.Equal(got, want) {
		t.Fatalf("ListEventTypes after Unit.Created, limit 1 = %v, want %v", got, want)
	}
	if got := eventTypeNames(t, s, "b", all); !slices.Equal(got, []string{"Unit.Updated"}) {
		t.Fatalf("tenant b's types = %v", got)
	}
	_, err = s.ListEventTypes(ctx, "nope", all)
	wantCode(t, err, hookd.ENOTFOUND)

	// Update replaces description, schema and archived, keeps created_at.
	up := &hookd.EventType{TenantID: "a", Name: "Unit.Updated", Description: "", Archived: true}
	must(t, s.UpdateEventType(ctx, up))
	if !up.CreatedAt.Equal(T0) || up.UpdatedAt.IsZero() {
		t.Fatalf("UpdateEventType set CreatedAt %v, UpdatedAt %v", up.CreatedAt, up.UpdatedAt)
	}
	got, err = s.GetEventType(ctx, "a", "Unit.Updated")
	must(t, err)
	if got.Description != "" || got.Schema != nil || !got.Archived || !got.CreatedAt.Equal(T0) {
		t.Fatalf("after update = %+v", got)
	}
	wantCode(t, s.UpdateEventType(ctx, &hookd.EventType{TenantID: "a", Name: "Unit.Deleted"}), hookd.ENOTFOUND)
	wantCode(t, s.UpdateEventType(ctx, &hookd.EventType{TenantID: "b", Name: "Unit.Created"}), hookd.ENOTFOUND)
	if got, err := s.GetEventType(ctx, "b", "Unit.Updated"); err != nil || got.Archived {
		t.Fatalf("tenant b's type after tenant a's update = %+v, %v", got, err)
	}

	wantCode(t, s.DeleteEventType(ctx, "b", "Unit.Created"), hookd.ENOTFOUND)
	must(t, s.DeleteEventType(ctx, "a", "Unit.Created"))
	wantCode(t, s.DeleteEventType(ctx, "a", "Unit.Created"), hookd.ENOTFOUND)
	if got, want := eventTypeNames(t, s, "a", all), []string{"Unit.Updated", "_log.door:opened"}; !slices.Equal(got, want) {
		t.Fatalf("after delete = %v, want %v", got, want)
	}

	// A deleted tenant's catalogue goes with it.
	must(t, s.DeleteTenant(ctx, "a"))
	mustTenant(t, s, "a")
	if got := eventTypeNames(t, s, "a", all); len(got) != 0 {
		t.Fatalf("re-created tenant has event types %v", got)
	}
}

// A tenant holds at most hookd.MaxEventTypesPerTenant types, also when
// many are declared at once: of more concurrent creates than the limit
// allows, exactly the limit's worth succeed and the rest are ECONFLICT.
// (Concurrent, too, so that a store's group commit makes the thousand
// writes take one fsync in many rather than one each.)
func testEventTypeLimit(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	const extra = 10
	var created, refused atomic.Int64
	var wg sync.WaitGroup
	names := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range names {
				err := s.CreateEventType(ctx, &hookd.EventType{TenantID: "a", Name: fmt.Sprintf("t%04d", i),
					CreatedAt: T0.Add(time.Duration(i) * time.Millisecond)})
				switch {
				case err == nil:
					created.Add(1)
				case hookd.ErrorCode(err) == hookd.ECONFLICT:
					refused.Add(1)
				default:
					t.Errorf("create t%04d: %v", i, err)
				}
			}
		})
	}
	for i := range hookd.MaxEventTypesPerTenant + extra {
		names <- i
	}
	close(names)
	wg.Wait()
	if created.Load() != hookd.MaxEventTypesPerTenant || refused.Load() != extra {
		t.Fatalf("created %d, refused %d; want %d and %d", created.Load(), refused.Load(), hookd.MaxEventTypesPerTenant, extra)
	}
	wantCode(t, s.CreateEventType(ctx, &hookd.EventType{TenantID: "a", Name: "one.more"}), hookd.ECONFLICT)
	first := eventTypeNames(t, s, "a", hookd.EventTypeFilter{Page: hookd.Page{Limit: 1}})
	must(t, s.DeleteEventType(ctx, "a", first[0]))
	mustEventType(t, s, "a", "one.more")
}

// CountMessagesByState counts every tenant's messages by state.
func testCountMessagesByState(t *testing.T, s hookd.Store) {
	counts, err := s.CountMessagesByState(ctx)
	must(t, err)
	for st, n := range counts {
		if n != 0 {
			t.Fatalf("empty store counts %d %s messages", n, st)
		}
	}
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	wa := mustWebhook(t, s, "a", url(1))
	mustWebhook(t, s, "b", url(1))
	ra := mustPublish(t, s, "a", T0, ev("x", ""), ev("x", ""), ev("x", ""))
	mustPublish(t, s, "b", T0, ev("x", ""))
	m := messageOf(t, s, "a", wa.ID, ra[0].EventID)
	_, err = s.AbortMessage(ctx, "a", m.ID, T0)
	must(t, err)
	counts, err = s.CountMessagesByState(ctx)
	must(t, err)
	if got := counts[hookd.StateCreated]; got != 3 {
		t.Fatalf("created = %d, want 3 (%v)", got, counts)
	}
	if got := counts[hookd.StateAborted]; got != 1 {
		t.Fatalf("aborted = %d, want 1 (%v)", got, counts)
	}
}
