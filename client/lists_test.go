package client_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/hookdtest"
)

func TestWebhookListFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hookdtest.Options{})
	c := e.admin
	mk := func(name, url string, types []string, enabled bool) string {
		t.Helper()
		w, err := c.Webhooks.Create(ctx(t), tenant, &client.WebhookInput{Name: name, URL: url, EventTypes: types, Enabled: client.Ptr(enabled)})
		if err != nil {
			t.Fatal(err)
		}
		return w.ID
	}
	a := mk("Alpha ERP", "http://127.0.0.1:9/a", []string{"Unit.*"}, true)
	b := mk("beta", "http://127.0.0.1:9/b/x", []string{"Lease.Signed"}, false)
	g := mk("gamma erp", "http://127.0.0.1:9/c", []string{"*"}, true)
	if _, err := e.srv.Store.SetSuspended(ctx(t), tenant, g, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts client.WebhookListOptions
		want []string
	}{
		{"none", client.WebhookListOptions{}, []string{a, b, g}},
		{"name", client.WebhookListOptions{Name: "ERP"}, []string{a, g}},
		{"url", client.WebhookListOptions{URL: "HTTP://127.0.0.1:9/a"}, []string{a}},
		{"url_prefix", client.WebhookListOptions{URLPrefix: "http://127.0.0.1:9/b"}, []string{b}},
		{"enabled", client.WebhookListOptions{Enabled: client.Ptr(false)}, []string{b}},
		{"suspended", client.WebhookListOptions{Suspended: client.Ptr(true)}, []string{g}},
		{"active", client.WebhookListOptions{Active: client.Ptr(true)}, []string{a}},
		{"inactive", client.WebhookListOptions{Active: client.Ptr(false)}, []string{b, g}},
		{"event_type", client.WebhookListOptions{EventTypes: []string{"Lease.Signed"}}, []string{b, g}},
		{"event_types", client.WebhookListOptions{EventTypes: []string{"Unit.Updated", "Lease.Signed"}}, []string{a, b, g}},
		{"pattern", client.WebhookListOptions{EventTypes: []string{"Unit.*"}}, []string{a, g}},
		{"all at once", client.WebhookListOptions{Name: "a", Enabled: client.Ptr(true), EventTypes: []string{"Unit.Created"}, URLPrefix: "http://127.0.0.1:9/"}, []string{a, g}},
	} {
		p, err := c.Webhooks.List(ctx(t), tenant, &tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, w := range p.Data {
			got = append(got, w.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestIteration: All walks every page once, in order, restarts when run
// again, stops when the loop breaks, and yields a failed page's error.
func TestIteration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hookdtest.Options{})
	c := e.admin
	var want []string
	for i := range 7 {
		w, err := c.Webhooks.Create(ctx(t), tenant, &client.WebhookInput{Name: fmt.Sprint(i), URL: fmt.Sprintf("http://127.0.0.1:9/%d", i), EventTypes: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, w.ID)
	}
	seq := c.Webhooks.All(ctx(t), tenant, &client.WebhookListOptions{ListOptions: client.ListOptions{Limit: 2}})
	for run := range 2 {
		var got []string
		for w, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, w.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("run %d: got %q, want %q", run, got, want)
		}
	}
	n := 0
	for _, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	// From a cursor: the rest after the first page.
	p, err := c.Webhooks.List(ctx(t), tenant, &client.WebhookListOptions{ListOptions: client.ListOptions{Limit: 2}})
	if err != nil {
		t.Fatal(err)
	}
	rest := collect(t, c.Webhooks.All(ctx(t), tenant, &client.WebhookListOptions{ListOptions: client.ListOptions{Limit: 3, Cursor: p.NextCursor}}))
	if len(rest) != 5 || rest[0].ID != want[2] {
		t.Fatalf("from the second page: %d webhooks starting %s", len(rest), rest[0].ID)
	}

	errs := 0
	for w, err := range c.Webhooks.All(ctx(t), "globex", nil) {
		if w != nil || !client.IsNotFound(err) {
			t.Fatalf("iterating another tenant: %v, %v", w, err)
		}
		errs++
	}
	if errs != 1 {
		t.Fatalf("%d errors yielded, want 1", errs)
	}
}
