package ui_test

import (
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
	hook("acme", "Tenant portal", "/portal", map[string]any{"grouped": true, "event_types": []string{"Process.*"}})
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
	page("/ui/t/acme/messages", `#rows`, "messages", "Unit.Updated")
	do(t, ctx, "a failed message", chromedp.Navigate(st.url+"/ui/t/acme/messages?state=failed"), chromedp.WaitVisible(css(`#rows a.mono`)),
		chromedp.Click(css(`#rows a.mono`)), chromedp.WaitVisible(css(`ol.attempts`)))
	shot(t, ctx, "message-detail")
	page("/ui/t/acme/events", `table.list`, "events", "Process.Created")

	de := browser(t, "de-DE,de;q=0.9,en;q=0.5")
	signIn(t, de, st.url, key)
	do(t, de, "German", chromedp.Navigate(st.url+"/ui/t/acme/webhooks"), chromedp.WaitVisible(css(`table.list`)))
	if body := get(t, de, "German", chromedp.Text(css(`main`))); !strings.Contains(body, "Neuer Webhook") {
		t.Fatalf("German webhooks page: %q", body)
	}
	shot(t, de, "webhooks-de")
	do(t, de, "German overview", chromedp.Navigate(st.url+"/ui/t/acme/"), chromedp.WaitVisible(css(`.stats`)))
	shot(t, de, "tenant-overview-de")
}
