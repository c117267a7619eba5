package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestScreenshots fills a store as a property platform would and visits the
// main pages in English and German: they must render their data (and, under
// make screenshots, become docs/screenshots/*.png).
func TestScreenshots(t *testing.T) {
	st := newStack(t)
	// The receiver: /crm always fails, /accounting every third call.
	var calls atomic.Int64 // the handler runs on many connections at once
	st.recv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/crm"):
			w.WriteHeader(503)
			fmt.Fprint(w, `{"error":"upstream timeout"}`)
		case strings.HasSuffix(r.URL.Path, "/accounting") && n%3 == 0:
			w.WriteHeader(500)
			fmt.Fprint(w, `{"error":"ledger locked"}`)
		default:
			time.Sleep(time.Duration(5+n%40) * time.Millisecond)
			fmt.Fprint(w, `{"ok":true}`)
		}
	})
	st.api(t, "POST", "/v1/tenants", rootToken, map[string]any{"id": "acme", "name": "Acme Property GmbH"})
	st.api(t, "POST", "/v1/tenants", rootToken, map[string]any{"id": "globex", "name": "Globex Facilities"})
	st.api(t, "POST", "/v1/tenants", rootToken, map[string]any{"id": "initech", "name": "Initech Hausverwaltung"})
	key := st.api(t, "POST", "/v1/tenants/acme/keys", rootToken, map[string]any{"name": "erp", "scopes": []string{"admin"}})["token"].(string)
	hook := func(tenant, name, path string, extra map[string]any) string {
		body := map[string]any{"name": name, "url": st.recv.URL + path, "event_types": []string{"*"}, "max_retries": 0}
		for k, v := range extra {
			body[k] = v
		}
		return st.api(t, "POST", "/v1/tenants/"+tenant+"/webhooks", rootToken, body)["id"].(string)
	}
	erp := hook("acme", "ERP sync", "/erp", map[string]any{"event_types": []string{"Unit.*", "Process.*"}, "description": "Units and processes into SAP"})
	portal := hook("acme", "Tenant portal", "/portal", map[string]any{"grouped": true, "event_types": []string{"Process.*"}})
	hook("acme", "Accounting export", "/accounting", map[string]any{"event_types": []string{"Invoice.*", "Unit.*"}})
	hook("acme", "Legacy CRM", "/crm", map[string]any{"event_types": []string{"Party.*"}})
	hook("acme", "Archive (paused)", "/archive", map[string]any{"enabled": false})
	hook("globex", "Facility board", "/globex", nil)
	types := []string{"Unit.Updated", "Process.Created", "Invoice.Paid", "Party.Updated", "Unit.Created"}
	for i := range 40 {
		var evs []map[string]any
		for j := range 5 {
			evs = append(evs, map[string]any{"type": types[(i+j)%len(types)], "group": fmt.Sprintf("property-%d", (i+j)%4),
				"payload": map[string]any{"id": 1000 + i*5 + j, "property": "Lindenstraße 12", "changes": map[string]any{"rent": 940 + j, "floor": 3}}})
		}
		st.api(t, "POST", "/v1/tenants/acme/events/batch", key, map[string]any{"events": evs})
		st.api(t, "POST", "/v1/tenants/globex/events", rootToken, map[string]any{"type": "Room.Booked", "payload": map[string]any{"room": i}})
	}
	// Wait for the engine to work through them.
	deadline := time.Now().Add(time.Minute)
	for {
		ms := st.api(t, "GET", "/v1/tenants/acme/messages?state=created&limit=1", rootToken, nil)["data"].([]any)
		if len(ms) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	// ERP sync has a day of history (as if it had run since yesterday):
	// its charts show a full day; Tenant portal's only this hour's.
	fillDay(t, st, "acme", erp)

	ctx := browser(t, "en-GB,en;q=0.9")
	signIn(t, ctx, st.url, rootToken)
	page := func(path, wait, name, want string) {
		t.Helper()
		do(t, ctx, name, chromedp.Navigate(st.url+path), chromedp.WaitVisible(css(wait)))
		if body := get(t, ctx, name, chromedp.Text(css(`main`))); !strings.Contains(body, want) {
			t.Fatalf("%s: %q lacks %q", name, body, want)
		}
		shot(t, ctx, name)
	}
	page("/ui/", `table.list`, "overview", "Acme Property GmbH")
	page("/ui/t/acme/", `.stats`, "tenant-overview", "Deliveries, last 24 hours")
	page("/ui/t/acme/webhooks", `table.list`, "webhooks", "Accounting export")
	page("/ui/t/acme/webhooks/"+erp, `#h-health`, "webhook-detail", "Success rate")
	page("/ui/t/acme/webhooks/"+portal, `#h-health`, "webhook-detail-new", "Success rate")
	page("/ui/t/acme/messages", `#rows`, "messages", "Unit.Updated")
	do(t, ctx, "a failed message", chromedp.Navigate(st.url+"/ui/t/acme/messages?state=failed"), chromedp.WaitVisible(css(`#rows a.mono`)),
		chromedp.Click(css(`#rows a.mono`)), chromedp.WaitVisible(css(`ol.attempts`)))
	shot(t, ctx, "message-detail")
	page("/ui/t/acme/events", `table.list`, "events", "Process.Created")
	// A delivered message: its buttons off, each saying why.
	do(t, ctx, "a successful message", chromedp.Navigate(st.url+"/ui/t/acme/messages?state=successful"), chromedp.WaitVisible(css(`#rows a.mono`)),
		chromedp.Click(css(`#rows a.mono`)), chromedp.WaitVisible(css(`#why-retry`)))
	shot(t, ctx, "message-successful")
	// The empty and no-match states, and an error.
	page("/ui/t/initech/messages?window=all", `.empty`, "messages-empty", "No messages yet")
	page("/ui/t/acme/messages?event_type=Nope.Never&state=failed", `.empty`, "messages-nomatch", "No message matches")
	page("/ui/t/initech/webhooks", `.empty`, "webhooks-empty", "Create the first webhook")
	page("/ui/t/acme/messages/msg_01m8ynope0000000000000000", `#h-error`, "error", "Not found")
	// A bulk retry of every failed message: the count first.
	do(t, ctx, "bulk", chromedp.Navigate(st.url+"/ui/t/acme/messages?state=failed"), chromedp.WaitVisible(css(`#bulk`)),
		chromedp.Click(css(`#bulk input[value="filter"]`)), chromedp.Click(css(`#bulk button[value="retry"]`)), chromedp.WaitVisible(css(`#h-bulk`)))
	shot(t, ctx, "bulk-confirm")
	// Portal links: one used, one revoked, one expired unused, and one
	// just made, its URL shown once.
	used := st.api(t, "POST", "/v1/tenants/acme/portal-links", key, map[string]any{"label": "Mieterin Schulz", "read_only": true})
	if res, err := http.Get(used["url"].(string)); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	revoked := st.api(t, "POST", "/v1/tenants/acme/portal-links", key, map[string]any{"label": "Hausmeister-App", "expires_in": "24h"})
	st.apiStatus(t, "DELETE", "/v1/tenants/acme/portal-links/"+revoked["id"].(string), key, 204)
	st.api(t, "POST", "/v1/tenants/acme/portal-links", rootToken, map[string]any{"label": "Support ticket 4711"})
	do(t, ctx, "new link", chromedp.Navigate(st.url+"/ui/t/acme/portal-links"), chromedp.WaitVisible(css(`#l-label`)),
		chromedp.SendKeys(css(`#l-label`), "Verwalter Nord"), chromedp.Click(css(`#l-rw`)), chromedp.Submit(css(`#l-label`)),
		chromedp.WaitVisible(css(`#new-link-url`)))
	shot(t, ctx, "portal-links")

	de := browser(t, "de-DE,de;q=0.9,en;q=0.5")
	signIn(t, de, st.url, key)
	do(t, de, "German", chromedp.Navigate(st.url+"/ui/t/acme/webhooks"), chromedp.WaitVisible(css(`table.list`)))
	if body := get(t, de, "German", chromedp.Text(css(`main`))); !strings.Contains(body, "Neuer Webhook") {
		t.Fatalf("German webhooks page: %q", body)
	}
	shot(t, de, "webhooks-de")
	do(t, de, "German overview", chromedp.Navigate(st.url+"/ui/t/acme/"), chromedp.WaitVisible(css(`.stats`)))
	shot(t, de, "tenant-overview-de")
	for _, p := range []struct{ path, wait, name string }{
		{"/ui/t/acme/messages?state=failed&state=retrying", `#bulk`, "messages-de"},
		{"/ui/t/acme/webhooks/" + erp, `#h-health`, "webhook-detail-de"},
		{"/ui/t/acme/portal-links", `table.list`, "portal-links-de"},
	} {
		do(t, de, p.name, chromedp.Navigate(st.url+p.path), chromedp.WaitVisible(css(p.wait)))
		shot(t, de, p.name)
	}
	// Nothing German overflows its box: every element whose content is
	// wider than it (and does not scroll on purpose) is named.
	for _, path := range []string{"/ui/t/acme/", "/ui/t/acme/webhooks", "/ui/t/acme/messages", "/ui/t/acme/webhooks/" + erp,
		"/ui/t/acme/portal-links", "/ui/t/acme/keys", "/ui/t/acme/events"} {
		do(t, de, "German "+path, chromedp.Navigate(st.url+path), chromedp.WaitVisible(css(`main`)))
		over := get(t, de, "overflow "+path, chromedp.Evaluate[[]string](overflowJS))
		if len(over) > 0 {
			t.Errorf("German %s: content wider than its box: %v", path, over)
		}
	}

	// The store gone: the page says so and offers to try again.
	st.db.Close()
	do(t, ctx, "store gone", chromedp.Navigate(st.url+"/ui/t/acme/messages"), chromedp.WaitVisible(css(`#h-error`)))
	if body := get(t, ctx, "store gone", chromedp.Text(css(`main`))); !strings.Contains(body, "Try again") {
		t.Fatalf("error page without the store: %q", body)
	}
	shot(t, ctx, "error-retry")
}

// overflowJS lists the elements of main whose text is cut or spills out:
// wider than their box, not a scroll container, not cut on purpose with an
// ellipsis.
const overflowJS = `(() => {
	const out = [];
	for (const el of document.querySelectorAll("main *")) {
		const cs = getComputedStyle(el);
		if (cs.display === "none" || cs.visibility === "hidden" || el.closest("svg, pre, .table-wrap, time.when, .sr")) continue;
		if (cs.overflowX === "auto" || cs.overflowX === "scroll" || cs.textOverflow === "ellipsis") continue;
		if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
			out.push(el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ").join(".") : "") + ": " + el.textContent.trim().slice(0, 40));
		}
	}
	if (document.documentElement.scrollWidth > document.documentElement.clientWidth) out.push("the page scrolls sideways");
	for (const w of document.querySelectorAll(".table-wrap")) {
		if (w.scrollWidth > w.clientWidth + 1) out.push("a table scrolls sideways: " + (w.querySelector("caption") || w).textContent.trim().slice(0, 40));
	}
	return out;
})()`

// fillDay writes a day of delivery statistics for a webhook, an hour's
// worth in each 5-minute bucket before this hour: a quieter night, a
// failing hour in the afternoon, latencies that vary.
func fillDay(t *testing.T, st *stack, tenant, webhook string) {
	t.Helper()
	now := time.Now().UTC()
	start := now.Truncate(time.Hour).Add(-23 * time.Hour)
	for b := start; b.Before(now.Truncate(time.Hour)); b = b.Add(5 * time.Minute) {
		h := b.Hour()
		n := 40 + 30*((h+6)%24)/6
		ok := n
		if h == 15 || h == 16 {
			ok = n * 3 / 5
		}
		if b.Minute() == 0 && h%7 == 3 {
			continue // an idle bucket now and then
		}
		// l5 = 8..12 ms, l8 = 27..40 ms, l12 = 135..200 ms, l16 = 675..1000 ms.
		slow := 0
		if h == 15 {
			slow = n / 10
		}
		_, err := st.db.Exec(context.Background(), `INSERT INTO delivery_stats (tenant_id, webhook_id, bucket, attempts, successes, l5, l8, l12, l16)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, tenant, webhook, b.UnixMilli(), n, ok, n/2, n/2-n/50-slow, n/50, slow)
		if err != nil {
			t.Fatal(err)
		}
	}
}
