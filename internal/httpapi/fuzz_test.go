package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/hookdtest"
)

// fuzzServer is an API over a fresh store with tenant "acme", served
// in-process (no sockets: fuzzing makes many requests).
func fuzzServer(f *testing.F) (http.Handler, *hookd.Webhook, hookd.Store) {
	db := MustOpenDB(f)
	ctx := context.Background()
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "acme", Name: "Acme"}); err != nil {
		f.Fatal(err)
	}
	base := hookd.NewWebhookDefaults()
	base.TenantID, base.Name, base.URL, base.EventTypes = "acme", "base", "https://example.com/base", []string{"Unit.*"}
	base.Secrets = []hookd.Secret{{Value: hookd.NewSecret()}}
	if err := db.CreateWebhook(ctx, base); err != nil {
		f.Fatal(err)
	}
	other := *base
	other.ID, other.URL = "", "https://example.com/taken"
	if err := db.CreateWebhook(ctx, &other); err != nil {
		f.Fatal(err)
	}
	return newAPI(f, db, &fakeDeliverer{}).Handler(), base, db
}

func serve(h http.Handler, method, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+rootToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var fuzzSeeds = []string{
	`{"name":"a","url":"https://example.com/a","event_types":["Unit.*"]}`,
	`{"name":"a","url":"https://example.com/taken","event_types":["*"]}`,
	`{"name":"","url":"http://127.0.0.1/","event_types":[],"timeout_ms":"x","headers":{"Host":["h"]}}`,
	`{"auth":{"type":"basic","username":"u","password":"p"},"secrets":["whsec_AAAAAAAAAAAAAAAAAAAAAA=="],"retry_schedule":["1s","24h"]}`,
	`{"auth":null,"filter":{"k":"v"},"failure_handling":{"suspend_after":"0s"},"rate_limit":1e3,"max_retries":-1}`,
	`{"add_event_types":["x.*"],"remove_event_types":["Unit.*"],"add_headers":{"X-A":["1"]},"remove_headers":["x-a"]}`,
	`{"event_types":[null,1,"a b"],"headers":{"X":"y"},"url":"https://[::1]:0/"}`,
	`[]`, `null`, `{"name":`, `{"id":"wh_x","bogus":{}}`,
	// Text no store can keep: NUL in decoded strings, bytes that are not UTF-8.
	`{"name":"n\u0000","description":"\u0000","url":"https://example.com/\u0000","event_types":["*","a\u0000"],"filter":{"k\u0000":"v"},"headers":{"X-A":["\u0000"]}}`,
	`{"name":"n\u0000","description":"\u0000","url":"https://example.com/u","event_types":["*"],"filter":{"k\u0000":"v\u0000"}}`,
	`{"name":"` + "\xff" + `","url":"https://example.com/u","event_types":["*"],"description":"d` + "\xc3\x28" + `","` + "\xfe" + `":1}`,
	`{"description":"\u0000","remove_event_types":["\u0000"],"remove_headers":["\u0000"]}`,
}

func FuzzCreateWebhook(f *testing.F) {
	h, _, db := fuzzServer(f)
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	count := func() int {
		ws, err := db.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "acme", Page: hookd.Page{Limit: 1000}})
		if err != nil {
			f.Fatal(err)
		}
		return len(ws)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := count()
		rec := serve(h, "POST", "/v1/tenants/acme/webhooks", body)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%d for %q: %s", rec.Code, body, rec.Body)
		case rec.Code == http.StatusCreated:
			var w struct{ ID string }
			if err := json.Unmarshal(rec.Body.Bytes(), &w); err != nil || w.ID == "" {
				t.Fatalf("201 without id: %s", rec.Body)
			}
			// What was accepted must read back valid.
			got, err := db.GetWebhook(ctx, "acme", w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Validate(ctx, nil); err != nil {
				t.Fatalf("stored an invalid webhook from %q: %v", body, err)
			}
			if p := hookdtest.Unstorable(got, "webhook"); p != "" {
				t.Fatalf("stored %s, which PostgreSQL cannot keep, from %q", p, body)
			}
			if err := db.DeleteWebhook(ctx, "acme", w.ID); err != nil {
				t.Fatal(err)
			}
		case rec.Code >= 400:
			if rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d without a problem document", rec.Code)
			}
			if after := count(); after != before {
				t.Fatalf("%d for %q but %d webhooks stored", rec.Code, body, after-before)
			}
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
	})
}

func FuzzPatchWebhook(f *testing.F) {
	h, base, db := fuzzServer(f)
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	path := "/v1/tenants/acme/webhooks/" + base.ID
	f.Fuzz(func(t *testing.T, body []byte) {
		before, err := db.GetWebhook(ctx, "acme", base.ID)
		if err != nil {
			t.Fatal(err)
		}
		rec := serve(h, "PATCH", path, body)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%d for %q: %s", rec.Code, body, rec.Body)
		case rec.Code == http.StatusOK:
			got, err := db.GetWebhook(ctx, "acme", base.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Validate(ctx, nil); err != nil {
				t.Fatalf("stored an invalid webhook from %q: %v", body, err)
			}
			if p := hookdtest.Unstorable(got, "webhook"); p != "" {
				t.Fatalf("stored %s, which PostgreSQL cannot keep, from %q", p, body)
			}
			if err := db.UpdateWebhook(ctx, base); err != nil { // back to the start
				t.Fatal(err)
			}
		case rec.Code >= 400:
			if rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d without a problem document", rec.Code)
			}
			after, err := db.GetWebhook(ctx, "acme", base.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("%d for %q but the webhook changed", rec.Code, body)
			}
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
	})
}
