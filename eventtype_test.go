package hookd_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

func TestEventTypeValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		et     hookd.EventType
		fields []string
	}{
		{"plain", hookd.EventType{Name: "Unit.Updated"}, nil},
		{"every character", hookd.EventType{Name: "_a-B:9.x", Description: strings.Repeat("é", hookd.MaxDescriptionLen)}, nil},
		{"no name", hookd.EventType{}, []string{"name"}},
		{"a pattern is no name", hookd.EventType{Name: "Unit.*"}, []string{"name"}},
		{"space", hookd.EventType{Name: "Unit Updated"}, []string{"name"}},
		{"too long", hookd.EventType{Name: strings.Repeat("a", 256)}, []string{"name"}},
		{"hookd's namespace", hookd.EventType{Name: "hookd.webhook.suspended"}, []string{"name"}},
		{"every field at once", hookd.EventType{Name: "a b", Description: strings.Repeat("x", hookd.MaxDescriptionLen+1),
			Schema: []byte(`"` + strings.Repeat("x", hookd.MaxSchemaBytes) + `"`)}, []string{"name", "description", "schema"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := fieldNames(tt.et.Validate()); !slices.Equal(got, tt.fields) {
				t.Fatalf("invalid fields = %v, want %v", got, tt.fields)
			}
		})
	}
}

// fieldNames returns the fields of an EINVALID error, nil for nil.
func fieldNames(err error) []string {
	if err == nil {
		return nil
	}
	he, ok := err.(*hookd.Error)
	if !ok || he.Code != hookd.EINVALID {
		return []string{"not EINVALID: " + err.Error()}
	}
	var out []string
	for _, f := range he.Fields {
		out = append(out, f.Field)
	}
	return out
}

func testCatalog() *hookd.EventTypeCatalog {
	return hookd.NewEventTypeCatalog([]*hookd.EventType{
		{Name: "Unit.Updated"}, {Name: "Unit.Created"},
		{Name: "Party.Merged", Archived: true},
		{Name: "log.door_was_opened"},
	})
}

func TestCatalogSubscriptionAllowed(t *testing.T) {
	t.Parallel()
	c := testCatalog()
	tests := []struct {
		pattern string
		want    bool
	}{
		{"*", true},
		{"all", true},
		{"Unit.Updated", true},
		{"Unit.*", true},
		{"log.*", true},
		{"Unit.Deleted", false},
		{"Unit", false},
		{"Party.Merged", false}, // archived
		{"Party.*", false},      // only an archived type
		{"hookd.webhook.suspended", true},
		{"hookd.*", true},
		{"Unit.Updated.*", false},
	}
	for _, tt := range tests {
		if got := c.SubscriptionAllowed(tt.pattern); got != tt.want {
			t.Errorf("SubscriptionAllowed(%q) = %v, want %v", tt.pattern, got, tt.want)
		}
	}
	var empty *hookd.EventTypeCatalog
	if !empty.SubscriptionAllowed("Anything.Goes") || !hookd.NewEventTypeCatalog(nil).SubscriptionAllowed("x") {
		t.Fatal("an empty catalogue refuses a subscription")
	}
}

func TestCatalogCheckSubscriptions(t *testing.T) {
	t.Parallel()
	c := testCatalog()
	tests := []struct {
		name     string
		patterns []string
		kept     []string
		want     []string
	}{
		{"all declared", []string{"Unit.Updated", "log.*", "*"}, nil, nil},
		{"each undeclared one by index", []string{"Unit.Updated", "Nope", "Party.Merged", "Nope.*"}, nil,
			[]string{"event_types[1]", "event_types[2]", "event_types[3]"}},
		{"kept from before", []string{"Party.Merged", "Gone.Type", "Nope"}, []string{"Party.Merged", "Gone.Type"},
			[]string{"event_types[2]"}},
		{"invalid patterns are Validate's", []string{"a b", "Nope"}, nil, []string{"event_types[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var f hookd.Fields
			c.CheckSubscriptions(tt.patterns, tt.kept, &f)
			if got := fieldNames(f.Err()); !slices.Equal(got, tt.want) {
				t.Fatalf("fields = %v, want %v", got, tt.want)
			}
		})
	}
	var f hookd.Fields
	hookd.NewEventTypeCatalog(nil).CheckSubscriptions([]string{"Anything"}, nil, &f)
	if len(f) != 0 {
		t.Fatalf("an empty catalogue refused %v", f)
	}
}

func TestCatalogCheckPublish(t *testing.T) {
	t.Parallel()
	c := testCatalog()
	tests := []struct {
		typ      string
		declared bool
		fields   []string
	}{
		{"Unit.Updated", true, nil},
		{"Unit.Deleted", false, []string{"events[2].type"}},
		{"Party.Merged", false, []string{"events[2].type"}},
		{"hookd.webhook.suspended", false, []string{"events[2].type"}},
	}
	for _, tt := range tests {
		var f hookd.Fields
		et := c.CheckPublish(tt.typ, "events[2].", &f)
		if got := fieldNames(f.Err()); !slices.Equal(got, tt.fields) || (et != nil) != tt.declared {
			t.Errorf("CheckPublish(%q) = %v, fields %v; want declared %v, fields %v", tt.typ, et, got, tt.declared, tt.fields)
		}
	}
	var f hookd.Fields
	if et := hookd.NewEventTypeCatalog(nil).CheckPublish("Anything", "", &f); et != nil || len(f) != 0 {
		t.Fatalf("an empty catalogue: CheckPublish = %v, %v", et, f)
	}
}
