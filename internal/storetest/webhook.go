package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testWebhookCRUD(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	wantCode(t, s.CreateWebhook(ctx, &hookd.Webhook{TenantID: "nope", URL: url(1), EventTypes: []string{"*"}}), hookd.ENOTFOUND)
	w := mustWebhook(t, s, "a", url(1), func(w *hookd.Webhook) {
		w.Description = "desc"
		w.EventTypes = []string{"Unit.*", "log.door_was_opened"}
		w.Filter = map[string]string{"party_id": "42"}
		w.Headers = map[string][]string{"X-Tenant": {"a", "b"}}
		w.Auth = &hookd.Auth{Type: hookd.AuthBasic, Username: "u", Password: "p"}
		w.TimeoutMS = 5000
		w.MaxRetries = 3
		w.RetrySchedule = []hookd.Duration{hookd.Duration(time.Minute), hookd.Duration(time.Hour)}
		w.Grouped, w.ContinueOnFailure = true, true
		w.FailureHandling.SuspendAfter = hookd.Duration(48 * time.Hour)
		w.RateLimit = 7
		w.MaxInFlight = 3
	})
	if w.CreatedAt.IsZero() || w.UpdatedAt.IsZero() || !strings.HasPrefix(w.ID, hookd.PrefixWebhook+"_") {
		t.Fatalf("CreateWebhook left id %q, created %v, updated %v", w.ID, w.CreatedAt, w.UpdatedAt)
	}
	got, err := s.GetWebhook(ctx, "a", w.ID)
	must(t, err)
	check := func(got, want *hookd.Webhook) {
		t.Helper()
		if got.ID != want.ID || got.TenantID != want.TenantID || got.Name != want.Name || got.Description != want.Description ||
			got.URL != want.URL || got.Enabled != want.Enabled || !slices.Equal(got.EventTypes, want.EventTypes) ||
			len(got.Filter) != len(want.Filter) || got.Filter["party_id"] != want.Filter["party_id"] ||
			len(got.Headers) != len(want.Headers) || !slices.Equal(got.Headers["X-Tenant"], want.Headers["X-Tenant"]) ||
			(got.Auth == nil) != (want.Auth == nil) || (got.Auth != nil && *got.Auth != *want.Auth) ||
			len(got.Secrets) != len(want.Secrets) || got.Secrets[0].Value != want.Secrets[0].Value ||
			!got.Secrets[0].CreatedAt.Equal(want.Secrets[0].CreatedAt) ||
			got.TimeoutMS != want.TimeoutMS || got.MaxRetries != want.MaxRetries ||
			!slices.Equal(got.RetrySchedule, want.RetrySchedule) || got.Grouped != want.Grouped ||
			got.ContinueOnFailure != want.ContinueOnFailure || got.FailureHandling != want.FailureHandling ||
			got.RateLimit != want.RateLimit || got.MaxInFlight != want.MaxInFlight || got.Suspended || got.SuspendedAt != nil || got.FailingSince != nil ||
			!got.CreatedAt.Equal(want.CreatedAt) {
			t.Fatalf("webhook = %+v\nwant %+v", got, want)
		}
	}
	check(got, w)

	// Full replacement; nil secrets keep the stored ones.
	upd := *got
	upd.Name, upd.Description, upd.URL = "renamed", "", url(2)
	upd.EventTypes = []string{"*"}
	upd.Filter, upd.Headers, upd.Auth, upd.RetrySchedule = nil, nil, nil, nil
	upd.Grouped, upd.ContinueOnFailure, upd.RateLimit, upd.MaxInFlight = false, false, 0, 0
	upd.Secrets = nil
	must(t, s.UpdateWebhook(ctx, &upd))
	got, err = s.GetWebhook(ctx, "a", w.ID)
	must(t, err)
	upd.Secrets = w.Secrets
	check(got, &upd)
	if got.UpdatedAt.Before(w.UpdatedAt) {
		t.Fatalf("UpdatedAt went back: %v < %v", got.UpdatedAt, w.UpdatedAt)
	}
	missing := upd
	missing.ID = "wh_missing"
	wantCode(t, s.UpdateWebhook(ctx, &missing), hookd.ENOTFOUND)

	exp := T0.Add(24 * time.Hour)
	secrets := []hookd.Secret{{Value: "whsec_bmV3bmV3bmV3bmV3bmV3bmV3", CreatedAt: T0},
		{Value: "old-secret-old-secret", CreatedAt: at(-time.Hour), ExpiresAt: &exp}}
	must(t, s.SetSecrets(ctx, "a", w.ID, secrets))
	wantCode(t, s.SetSecrets(ctx, "a", "wh_missing", secrets), hookd.ENOTFOUND)
	got, err = s.GetWebhook(ctx, "a", w.ID)
	must(t, err)
	if len(got.Secrets) != 2 || got.Secrets[0].Value != secrets[0].Value || got.Secrets[1].ExpiresAt == nil ||
		!got.Secrets[1].ExpiresAt.Equal(exp) {
		t.Fatalf("secrets = %+v", got.Secrets)
	}

	must(t, s.DeleteWebhook(ctx, "a", w.ID))
	_, err = s.GetWebhook(ctx, "a", w.ID)
	wantCode(t, err, hookd.ENOTFOUND)
	wantCode(t, s.DeleteWebhook(ctx, "a", w.ID), hookd.ENOTFOUND)
	// Its URL is free again.
	mustWebhook(t, s, "a", url(2))
}

// A duplicate is the same normalised URL and the same filter (as a set of
// pairs) in the tenant: the same URL for another party is another webhook.
func testWebhookDuplicateURL(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	first := mustWebhook(t, s, "a", "https://example.com/a")
	mustWebhook(t, s, "a", "https://example.com:8443/x")
	party := mustWebhook(t, s, "a", "https://example.com/p", filter("party_id", "42", "kind", "unit"))
	mustWebhook(t, s, "b", "https://example.com/a") // another tenant's
	for _, tt := range []struct {
		url      string
		filter   map[string]string
		existing string // "" when no conflict
	}{
		{"https://example.com/a", nil, first.ID},
		{"https://example.com/a", map[string]string{}, first.ID}, // empty is no filter
		{"HTTPS://Example.com:443/a", nil, first.ID},
		{"https://EXAMPLE.COM/a#frag", nil, first.ID},
		{"https://example.com/A", nil, ""}, // the path keeps its case
		{"http://example.com/a", nil, ""},
		{"https://example.com/a?x=1", nil, ""},
		{"https://example.com:8443/a", nil, ""},
		{"https://example.com/p", map[string]string{"kind": "unit", "party_id": "42"}, party.ID},
		{"https://Example.com/p", map[string]string{"party_id": "42", "kind": "unit"}, party.ID},
		{"https://example.com/p", nil, ""},
		{"https://example.com/p", map[string]string{"party_id": "42"}, ""}, // a subset is another filter
		{"https://example.com/p", map[string]string{"party_id": "43", "kind": "unit"}, ""},
		{"https://example.com/p", map[string]string{"party_id": "42", "kind": "unit", "x": "y"}, ""},
		{"https://example.com/p", map[string]string{"party_id": "42", "kind": "Unit"}, ""},
	} {
		w := hookd.NewWebhookDefaults()
		w.TenantID, w.URL, w.Filter, w.EventTypes = "a", tt.url, tt.filter, []string{"*"}
		err := s.CreateWebhook(ctx, w)
		if tt.existing == "" {
			if err != nil {
				t.Errorf("create %s %v: %v", tt.url, tt.filter, err)
			}
			continue
		}
		wantCode(t, err, hookd.ECONFLICT)
		if e, ok := err.(*hookd.Error); !ok || e.ExistingID != tt.existing {
			t.Errorf("create %s %v: %#v, want ExistingID %s", tt.url, tt.filter, err, tt.existing)
		}
	}
	// Updating another webhook to the URL conflicts too; keeping its own
	// URL (in another spelling) does not.
	other, err := s.GetWebhook(ctx, "a", mustWebhook(t, s, "a", "https://other.example/").ID)
	must(t, err)
	other.URL = "https://Example.COM/a"
	err = s.UpdateWebhook(ctx, other)
	wantCode(t, err, hookd.ECONFLICT)
	if e := err.(*hookd.Error); e.ExistingID != first.ID {
		t.Fatalf("ExistingID = %q, want %q", e.ExistingID, first.ID)
	}
	first.URL = "HTTPS://example.com:443/a"
	must(t, s.UpdateWebhook(ctx, first))
	// With a filter of its own the same URL is no duplicate, until the
	// filter is changed to the other's.
	other.Filter = map[string]string{"party_id": "7"}
	must(t, s.UpdateWebhook(ctx, other))
	other.URL, other.Filter = "https://example.com/p", map[string]string{"party_id": "42", "kind": "unit"}
	err = s.UpdateWebhook(ctx, other)
	wantCode(t, err, hookd.ECONFLICT)
	if e := err.(*hookd.Error); e.ExistingID != party.ID {
		t.Fatalf("ExistingID = %q, want %q", e.ExistingID, party.ID)
	}
	// Listing by URL finds every webhook of the URL, whatever its filter:
	// how a caller asks whether the URL is registered at all.
	got, err := s.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "a", URL: "https://example.com/p"})
	must(t, err)
	if len(got) != 6 {
		t.Fatalf("webhooks of https://example.com/p: %d, want 6: %v", len(got), ids(got, webhookID))
	}
}

// The longest URL validation allows (whose escaped, normalised form is
// three times as long) and the largest filter are stored, found by URL and
// recognised as duplicates: no index entry may be too large for them.
func testWebhookLongestURLAndFilter(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	var b strings.Builder
	b.WriteString("https://example.com/")
	for i := 0; b.Len()+3 <= hookd.MaxURLLen; i++ {
		b.WriteRune(rune(0x4e00 + (i*7919)%20000)) // CJK ideographs, 3 bytes, 9 escaped
	}
	long := b.String()
	if n, _ := hookd.NormalizeURL(long); len(n) < 3*hookd.MaxURLLen-100 {
		t.Fatalf("the normalised URL has %d bytes, want about %d", len(n), 3*hookd.MaxURLLen)
	}
	big := map[string]string{}
	for i := range hookd.MaxFilterPairs {
		k := fmt.Sprintf("%03d%s", i, strings.Repeat("k", hookd.MaxFilterKeyLen-3))
		big[k] = fmt.Sprintf("%d%s", i, strings.Repeat("v", hookd.MaxFilterValueLen-3))
	}
	plain := hookd.NewWebhookDefaults()
	plain.TenantID, plain.Name, plain.URL, plain.EventTypes = "a", "long", long, []string{"*"}
	withFilter := *plain
	withFilter.Filter = big
	for _, w := range []*hookd.Webhook{plain, &withFilter} {
		if err := w.Validate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		must(t, s.CreateWebhook(ctx, w))
	}
	again := withFilter
	again.ID = ""
	err := s.CreateWebhook(ctx, &again)
	wantCode(t, err, hookd.ECONFLICT)
	if e := err.(*hookd.Error); e.ExistingID != withFilter.ID {
		t.Fatalf("ExistingID = %q, want %q", e.ExistingID, withFilter.ID)
	}
	got, err := s.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "a", URL: long})
	must(t, err)
	if g, w := ids(got, webhookID), []string{plain.ID, withFilter.ID}; !slices.Equal(g, w) {
		t.Fatalf("webhooks of the long URL: %v, want %v", g, w)
	}
}

func testListWebhooksFilters(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	mustWebhook(t, s, "b", "https://api.acme.com/b", func(w *hookd.Webhook) { w.Name = "Billing in b" })
	billing := mustWebhook(t, s, "a", "https://api.acme.com/billing", func(w *hookd.Webhook) {
		w.Name = "Billing Sync"
		w.EventTypes = []string{"Invoice.Created", "Invoice.Paid"}
	})
	units := mustWebhook(t, s, "a", "https://api.acme.com/units", func(w *hookd.Webhook) {
		w.Name = "units"
		w.EventTypes = []string{"Unit.*"}
	})
	all := mustWebhook(t, s, "a", "https://hooks.other.io/all", func(w *hookd.Webhook) {
		w.Name = "everything (billing too)"
		w.EventTypes = []string{"*"}
		w.Enabled = false
	})
	doors := mustWebhook(t, s, "a", "http://doors.local/x", func(w *hookd.Webhook) {
		w.Name = "doors"
		w.EventTypes = []string{"log.door_was_opened"}
	})
	_, err := s.SetSuspended(ctx, "a", doors.ID, true, T0)
	must(t, err)

	for _, tt := range []struct {
		name string
		f    hookd.WebhookFilter
		want []*hookd.Webhook
	}{
		{"all", hookd.WebhookFilter{}, []*hookd.Webhook{billing, units, all, doors}},
		{"name", hookd.WebhookFilter{Name: "BILLING"}, []*hookd.Webhook{billing, all}},
		{"url", hookd.WebhookFilter{URL: "HTTPS://API.acme.com:443/units"}, []*hookd.Webhook{units}},
		{"url path case", hookd.WebhookFilter{URL: "https://api.acme.com/Units"}, nil},
		{"url_prefix", hookd.WebhookFilter{URLPrefix: "https://API.acme.com/"}, []*hookd.Webhook{billing, units}},
		{"url_prefix host", hookd.WebhookFilter{URLPrefix: "https://hooks"}, []*hookd.Webhook{all}},
		{"enabled", hookd.WebhookFilter{Enabled: ptr(false)}, []*hookd.Webhook{all}},
		{"suspended", hookd.WebhookFilter{Suspended: ptr(true)}, []*hookd.Webhook{doors}},
		{"active", hookd.WebhookFilter{Active: ptr(true)}, []*hookd.Webhook{billing, units}},
		{"inactive", hookd.WebhookFilter{Active: ptr(false)}, []*hookd.Webhook{all, doors}},
		{"event type exact", hookd.WebhookFilter{EventTypes: []string{"Unit.Updated"}}, []*hookd.Webhook{units, all}},
		{"event type pattern", hookd.WebhookFilter{EventTypes: []string{"Unit.*"}}, []*hookd.Webhook{units, all}},
		{"event types any", hookd.WebhookFilter{EventTypes: []string{"Invoice.Paid", "log.door_was_opened"}},
			[]*hookd.Webhook{billing, all, doors}},
		{"combined", hookd.WebhookFilter{EventTypes: []string{"Invoice.Paid"}, Active: ptr(true), Name: "sync"},
			[]*hookd.Webhook{billing}},
		{"event type with limit", hookd.WebhookFilter{EventTypes: []string{"log.door_was_opened"}, Page: hookd.Page{Limit: 1}},
			[]*hookd.Webhook{all}},
		{"event type after", hookd.WebhookFilter{EventTypes: []string{"log.door_was_opened"}, Page: hookd.Page{After: all.ID}},
			[]*hookd.Webhook{doors}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			f.TenantID = "a"
			got, err := s.ListWebhooks(ctx, f)
			must(t, err)
			if g, w := ids(got, webhookID), ids(tt.want, webhookID); !slices.Equal(g, w) {
				t.Fatalf("ListWebhooks(%+v) = %v, want %v", tt.f, g, w)
			}
		})
	}
	_, err = s.ListWebhooks(ctx, hookd.WebhookFilter{})
	wantCode(t, err, hookd.EINVALID)
}

func testListWebhooksPagination(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	n := 0
	create := func(k int) {
		for range k {
			n++
			mustWebhook(t, s, "a", url(n), types("Unit.Updated"))
			n++
			mustWebhook(t, s, "a", url(n), types("Other")) // filtered out by event type
		}
	}
	create(55)
	// The default limit is 50.
	got, err := s.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "a"})
	must(t, err)
	if len(got) != 50 {
		t.Fatalf("default page has %d webhooks, want 50", len(got))
	}
	// Walking the cursor while webhooks are created between pages returns
	// every webhook once, in id order; the Go-side event type filter keeps
	// pages full.
	for _, et := range [][]string{nil, {"Unit.*"}} {
		seen := map[string]bool{}
		var order []string
		after := ""
		for pages := 0; ; pages++ {
			page, err := s.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "a", EventTypes: et, Page: hookd.Page{Limit: 7, After: after}})
			must(t, err)
			if len(page) == 0 {
				break
			}
			if pages < 5 {
				create(2)
			}
			for _, w := range page {
				if seen[w.ID] {
					t.Fatalf("webhook %s listed twice", w.ID)
				}
				seen[w.ID] = true
				order = append(order, w.ID)
			}
			after = page[len(page)-1].ID
		}
		if !slices.IsSorted(order) {
			t.Fatal("pages are not in id order")
		}
		total, err := s.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "a", EventTypes: et, Page: hookd.Page{Limit: 10000}})
		must(t, err)
		if len(total) != len(seen) {
			t.Fatalf("walk with event types %v saw %d webhooks, store has %d", et, len(seen), len(total))
		}
	}
}
