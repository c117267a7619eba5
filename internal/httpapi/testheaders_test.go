package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/netguard"
)

// POST …/test takes headers for that call only, checked by the rules of a
// webhook's headers: a receiver on loopback sees them over the webhook's
// own, the webhook keeps its headers, and the attempt is recorded.
func TestWebhookTestHeaders(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []http.Header
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
	}))
	t.Cleanup(rc.Close)
	requests := func() []http.Header {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}

	db := MustOpenDB(t)
	engine := delivery.New(delivery.Config{Store: db, Policy: &netguard.Policy{AllowHTTP: true, AllowPrivate: true}})
	e := &env{t: t, db: db, api: newAPI(t, db, engine)}
	e.srv = httptest.NewServer(e.api.Handler())
	t.Cleanup(e.srv.Close)
	e.mustTenant("acme")
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.Name, w.URL, w.EventTypes = "acme", "local", rc.URL+"/hook", []string{"*"}
	w.Headers = map[string][]string{"X-Tenant": {"acme"}, "X-Static": {"kept"}}
	if err := db.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	path := "/v1/tenants/acme/webhooks/" + w.ID + "/test"

	r := e.do("POST", path, rootToken, map[string]any{
		"headers": map[string][]string{"x-tenant": {"call"}, "X-Call": {"1", "2"}},
	}).want(t, 200)
	if r.field("success") != true || r.str("trigger") != "test" {
		t.Fatalf("test answer %s", r.Body)
	}
	got := requests()
	if len(got) != 1 {
		t.Fatalf("the receiver saw %d requests, want 1", len(got))
	}
	for name, want := range map[string][]string{"X-Tenant": {"call"}, "X-Call": {"1", "2"}, "X-Static": {"kept"}} {
		if vals := got[0].Values(name); !slices.Equal(vals, want) {
			t.Errorf("receiver: %s = %q, want %q", name, vals, want)
		}
	}
	atts := e.do("GET", "/v1/tenants/acme/messages/"+r.str("message_id")+"/attempts", rootToken, nil).want(t, 200).data()
	if len(atts) != 1 || atts[0]["id"] != r.str("id") || atts[0]["trigger"] != "test" {
		t.Fatalf("attempt log %v, want the test attempt", atts)
	}
	g := e.do("GET", "/v1/tenants/acme/webhooks/"+w.ID, rootToken, nil).want(t, 200)
	if h, _ := g.field("headers").(map[string]any); len(h) != 2 || h["X-Call"] != nil || fmt.Sprint(h["X-Tenant"]) != "[acme]" {
		t.Fatalf("the webhook's headers after the test: %v", g.field("headers"))
	}

	// The next test without headers sends the webhook's own.
	e.do("POST", path, rootToken, nil).want(t, 200)
	if got := requests(); len(got) != 2 || got[1].Get("X-Tenant") != "acme" || got[1].Get("X-Call") != "" {
		t.Fatalf("second test's headers: %v", got[len(got)-1])
	}

	// Every broken rule at once, under headers.<name>; nothing is sent.
	e.do("POST", path, rootToken, map[string]any{"headers": map[string]any{
		"Host": []string{"x"}, "Bad Name": []string{"v"}, "X-Empty": []string{}, "X-Nl": []string{"a\nb"},
		"X-Dup": []string{"1"}, "x-dup": []string{"2"}, "webhook-id": []string{"msg_x"},
	}, "type": "bad type"}).wantFields(t, 400, "headers.Host", "headers.Bad Name", "headers.X-Empty",
		"headers.X-Nl[0]", "headers.x-dup", "headers.webhook-id", "type")
	// Values of the wrong type are reported as such (and, as for a
	// webhook, the rules are not checked on top).
	e.do("POST", path, rootToken, map[string]any{"headers": map[string]any{"X-Type": "v", "Host": []string{"x"}}}).
		wantFields(t, 400, "headers.X-Type")
	e.do("POST", path, rootToken, map[string]any{"headers": []string{"X-A"}}).wantFields(t, 400, "headers")
	de := e.do("POST", path, rootToken, map[string]any{"headers": map[string][]string{"Authorization": {"Bearer x"}}},
		"Accept-Language", "de").want(t, 400)
	if msg := de.message("headers.Authorization"); msg != "ist ein System-Header und kann nicht gesetzt werden" {
		t.Fatalf("German message %q", msg)
	}
	if n := len(requests()); n != 2 {
		t.Fatalf("refused tests reached the receiver: %d requests, want 2", n)
	}
}
