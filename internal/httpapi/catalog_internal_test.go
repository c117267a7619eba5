package httpapi

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/sqlite"
)

// BenchmarkCheckCatalog measures what the catalogue adds to a publish of
// one event, apart from the store: the cached lookup for a tenant without
// a catalogue (every publish pays it), the type check with one, and the
// payload's schema validation.
func BenchmarkCheckCatalog(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hookd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := &Server{Store: db}
	for _, tenant := range []string{"free", "types", "schema"} {
		if err := db.CreateTenant(ctx, &hookd.Tenant{ID: tenant}); err != nil {
			b.Fatal(err)
		}
	}
	for _, et := range []*hookd.EventType{
		{TenantID: "types", Name: "Unit.Updated"},
		{TenantID: "schema", Name: "Unit.Updated", Schema: json.RawMessage(
			`{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"name":{"type":"string"}}}`)},
	} {
		if err := db.CreateEventType(ctx, et); err != nil {
			b.Fatal(err)
		}
	}
	ins := []hookd.EventInput{{Type: "Unit.Updated", Payload: json.RawMessage(`{"id":17,"name":"3rd floor"}`)}}
	prefix := func(int) string { return "" }
	for _, tenant := range []string{"free", "types", "schema"} {
		b.Run(tenant, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var f hookd.Fields
				if err := s.checkCatalog(ctx, tenant, ins, prefix, &f); err != nil || len(f) > 0 {
					b.Fatal(err, f)
				}
			}
		})
	}
}
