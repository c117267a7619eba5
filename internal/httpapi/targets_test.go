package httpapi_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/netguard"
)

// message returns the message of the problem's error on field, or "".
func (r *resp) message(field string) string {
	list, _ := r.JSON["errors"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if m["field"] == field {
			s, _ := m["message"].(string)
			return s
		}
	}
	return ""
}

// A refused webhook URL is a 400 on url whose message says what to do; an
// IPv6 zone is refused on create, replace and update, whatever the policy.
func TestWebhookURLRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // https only, no private targets
	e.mustTenant("acme")
	dev := newEnv(t)
	dev.api.Targets = &netguard.Policy{AllowHTTP: true, AllowPrivate: true, Resolver: fakeResolver{}}
	dev.mustTenant("acme")
	const (
		zone    = "must not have an IPv6 zone (%25...)"
		private = "must not point to a private, loopback, link-local or metadata address (allowed with --allow-private-targets or --dev)"
	)
	for _, tt := range []struct {
		env  *env
		url  string
		want string
	}{
		{e, "https://[::1%25lo]:8443/x", zone},
		{e, "https://[fe80::1%25eth0]/x", zone},
		{e, "https://[fd00::2%25eth0]/x", zone},
		{dev, "http://[::1%25lo]:8443/x", zone},
		{dev, "https://[fd00::2%25eth0]/x", zone},
		{e, "http://127.0.0.1:9000", "must use https (http is allowed with --allow-http or --dev)"},
		{e, "https://127.0.0.1:9000/", private},
		{e, "https://[::ffff:0:127.0.0.1]/", private},
		{e, "https://[2002:7f00:1::1]/", private},
		{e, "https://svc.private.test/", "must not resolve to a private, loopback, link-local or metadata address (allowed with --allow-private-targets or --dev)"},
		{e, "https://0x7f.1/", "must write an IPv4 address as four decimal numbers (a.b.c.d)"},
		{dev, "http://2130706433/", "must write an IPv4 address as four decimal numbers (a.b.c.d)"},
		{e, "https://example.com/a b", "must not contain spaces; write them as %20"},
	} {
		r := tt.env.do("POST", "/v1/tenants/acme/webhooks", rootToken, merge(hook("x"), "url", tt.url))
		r.wantFields(t, 400, "url")
		if got := r.message("url"); got != tt.want {
			t.Errorf("POST url %s: message %q, want %q", tt.url, got, tt.want)
		}
	}
	id := e.mustWebhook("acme", hook("ok"))
	path := "/v1/tenants/acme/webhooks/" + id
	e.do("PUT", path, rootToken, merge(hook("x"), "url", "https://[::1%25lo]/x")).wantFields(t, 400, "url")
	e.do("PATCH", path, rootToken, map[string]any{"url": "https://[fe80::1%25eth0]/x"}).wantFields(t, 400, "url")
	e.do("PATCH", path, rootToken, map[string]any{"url": "https://example.com/a b"}).wantFields(t, 400, "url")
}

// POST /test of a webhook whose URL has an IPv6 zone (stored before such
// URLs were refused) goes through the real engine: no connection reaches
// the zoned loopback receiver, even where private targets are allowed,
// and the attempt, as answered and as listed, is blocked_target.
func TestWebhookTestBlocksZone(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	rc := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	rc.Listener.Close()
	rc.Listener = ln
	rc.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	rc.Start()
	t.Cleanup(rc.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	db := MustOpenDB(t)
	engine := delivery.New(delivery.Config{Store: db, Policy: &netguard.Policy{AllowHTTP: true, AllowPrivate: true}})
	e := &env{t: t, db: db, api: newAPI(t, db, engine)}
	e.srv = httptest.NewServer(e.api.Handler())
	t.Cleanup(e.srv.Close)
	e.mustTenant("acme")
	w := hookd.NewWebhookDefaults()
	w.TenantID, w.Name, w.URL, w.EventTypes = "acme", "zoned", "http://[::1%25lo]:"+port+"/x", []string{"*"}
	if err := db.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}

	r := e.do("POST", "/v1/tenants/acme/webhooks/"+w.ID+"/test", rootToken, nil).want(t, 200)
	if r.str("error") != hookd.AttemptErrBlockedTarget || r.field("success") != false {
		t.Fatalf("test attempt %s, want error blocked_target", r.Body)
	}
	list := e.do("GET", "/v1/tenants/acme/messages/"+r.str("message_id")+"/attempts", rootToken, nil).want(t, 200).data()
	if len(list) != 1 || list[0]["error"] != hookd.AttemptErrBlockedTarget {
		t.Fatalf("attempt log %v, want one blocked_target", list)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the zoned receiver saw %d connections", n)
	}
}
