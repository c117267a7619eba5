package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/hookdtest"
)

var eventFuzzSeeds = []string{
	`{"type":"Unit.Updated","payload":{"id":17},"group":"property-12","attributes":{"party_id":"42"},"idempotency_key":"k1"}`,
	`{"type":"Unit.Updated","payload":{"id":18},"idempotency_key":"k1"}`,
	`{"type":"bad type","payload":1,"attributes":{"a":1},"group":3}`,
	`{"type":"","bogus":true}`,
	`{"events":[{"type":"a.b"},{"type":"c","payload":[1,2]}]}`,
	`{"events":[{"type":"a.b"},{"type":""}]}`,
	`{"events":[]}`, `{"events":{}}`, `[]`, `null`, `{"type":`, `{"type":"x","payload":"` + "\xff" + `"}`,
	// Text no store can keep, and the escape \u0000 in a payload, which is
	// JSON text and fine.
	`{"type":"t","group":"g\u0000","attributes":{"k\u0000":"v","a":"\u0000"},"idempotency_key":"\u0000"}`,
	`{"type":"t","payload":{"s":"a\u0000b","k\u0000":["\u0000"]}}`,
	`{"events":[{"type":"t","payload":{"` + "\xc3\x28" + `":1}},{"type":"t\u0000"},{"type":"t","group":"` + "\xff" + `"}]}`,
}

// FuzzPublishEvent posts arbitrary bodies to the single and the batch
// publish endpoints: never a 5xx, and nothing stored unless accepted.
func FuzzPublishEvent(f *testing.F) {
	h, _, db := fuzzServer(f)
	for _, s := range eventFuzzSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	ctx := context.Background()
	count := func() int {
		evs, err := db.ListEvents(ctx, "acme", hookd.EventFilter{Page: hookd.Page{Limit: 100000}})
		if err != nil {
			f.Fatal(err)
		}
		return len(evs)
	}
	f.Fuzz(func(t *testing.T, body []byte, batch bool) {
		path := "/v1/tenants/acme/events"
		if batch {
			path += "/batch"
		}
		before := count()
		rec := serve(h, "POST", path, body)
		after := count()
		switch {
		case rec.Code >= 500:
			t.Fatalf("%d for %q: %s", rec.Code, body, rec.Body)
		case rec.Code == http.StatusAccepted:
			if after <= before {
				t.Fatalf("202 but no event stored for %q", body)
			}
			evs, err := db.ListEvents(ctx, "acme", hookd.EventFilter{Page: hookd.Page{Limit: 100000}})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs[before:] { // the new ones: ids sort by creation
				if p := hookdtest.Unstorable(e, "event"); p != "" {
					t.Fatalf("stored %s, which PostgreSQL cannot keep, from %q", p, body)
				}
			}
		case rec.Code == http.StatusOK: // an idempotent duplicate
			if after != before {
				t.Fatalf("duplicate stored %d new events for %q", after-before, body)
			}
		default:
			if after != before {
				t.Fatalf("%d but %d events stored for %q: %s", rec.Code, after-before, body, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%d with content type %q", rec.Code, ct)
			}
		}
	})
}
