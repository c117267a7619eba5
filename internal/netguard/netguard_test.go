package netguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/dnstest"
	"github.com/hookd/hookd/internal/netguard"
)

func TestIsPrivate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true}, {"127.8.9.1", true}, {"10.1.2.3", true}, {"172.16.0.1", true},
		{"172.31.255.255", true}, {"172.32.0.1", false}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"100.64.0.1", true}, {"100.127.255.254", true},
		{"100.128.0.1", false}, {"0.0.0.0", true}, {"0.1.2.3", true}, {"224.0.0.1", true},
		{"239.255.255.250", true}, {"240.0.0.1", true}, {"255.255.255.255", true},
		{"192.0.0.8", true}, {"192.0.2.1", true}, {"192.88.99.1", true}, {"198.18.0.1", true},
		{"198.51.100.7", true}, {"203.0.113.9", true}, {"192.31.196.1", false},
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"93.184.216.34", false},

		{"::1", true}, {"::", true}, {"fd00:ec2::254", true}, {"fc00::1", true},
		{"fe80::1", true}, {"fec0::1", true}, {"ff02::1", true}, {"ff0e::1", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:8.8.8.8", false}, {"::ffff:10.0.0.1", true},
		{"::7f00:1", true}, {"::8.8.8.8", true}, // IPv4-compatible, deprecated
		{"::ffff:0:7f00:1", true}, {"::ffff:0:808:808", true}, // IPv4-translated
		{"64:ff9b::a00:1", true}, {"64:ff9b::7f00:1", true}, {"64:ff9b::808:808", false}, // NAT64
		{"64:ff9b:1::808:808", true},             // local-use NAT64
		{"100::1", true}, {"100:0:0:1::1", true}, // discard, dummy prefix
		{"2002:7f00:1::", true}, {"2002:c0a8:101::1", true}, {"2002:808:808::1", false}, // 6to4
		{"2001:0:808:808::80ff:fffe", true},  // Teredo, client 127.0.0.1
		{"2001:0:a00:1::f7f7:f7f7", true},    // Teredo, server 10.0.0.1
		{"2001:0:808:808::f7f7:f7f7", false}, // Teredo, server 8.8.8.8, client 8.8.8.8
		{"2001:2::1", true}, {"2001:10::1", true}, {"2001:db8::1", true}, {"3fff::1", true},
		{"5f00::1", true},
		{"2606:4700::1111", false}, {"2a00:1450:4001::200e", false},
		{"::1%lo", true}, {"2606:4700::1111%eth0", true}, // a zone, whatever the address
	} {
		if got := netguard.IsPrivate(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("IsPrivate(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
}

// fakeResolver answers every name with fixed addresses.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestCheckTarget(t *testing.T) {
	t.Parallel()
	res := fakeResolver{
		"public.test":  {netip.MustParseAddr("93.184.216.34")},
		"rebind.test":  {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.0.0.5")},
		"private.test": {netip.MustParseAddr("192.168.0.10")},
		"nat64.test":   {netip.MustParseAddr("64:ff9b::a00:5")},
	}
	strict := &netguard.Policy{Resolver: res}
	open := &netguard.Policy{AllowHTTP: true, AllowPrivate: true, Resolver: res}
	for _, tt := range []struct {
		url  string
		p    *netguard.Policy
		want string // "" allowed, else a part of the reason
	}{
		{"https://public.test/hook", strict, ""},
		{"https://8.8.8.8/hook", strict, ""},
		{"https://[2606:4700::1111]/hook", strict, ""},
		{"https://[2002:808:808::1]/hook", strict, ""},
		{"https://[64:ff9b::808:808]/hook", strict, ""},
		{"http://public.test/hook", strict, "must use https (http is allowed with --allow-http or --dev)"},
		{"http://public.test/hook", open, ""},
		{"ftp://public.test/hook", open, "absolute http or https"},
		{"https://127.0.0.1/hook", strict, "(allowed with --allow-private-targets or --dev)"},
		{"https://[::1]:8443/hook", strict, "must not point to a private"},
		{"https://localhost/hook", strict, "must not point to a private"},
		{"https://a.localhost/hook", strict, "must not point to a private"},
		{"https://169.254.169.254/latest", strict, "must not point to a private"},
		{"https://private.test/x", strict, "must not resolve to a private"},
		{"https://rebind.test/x", strict, "must not resolve to a private"},
		{"https://nat64.test/x", strict, "must not resolve to a private"},
		{"https://unknown.test/x", strict, ""}, // unresolvable now: checked at dial time
		{"https://127.0.0.1/hook", open, ""},
		{"https://[::1%25lo]/hook", open, "IPv6 zone"},
		{"https://[2606:4700::1111%25eth0]/hook", open, "IPv6 zone"},
		{"https://127.1/hook", open, "four decimal numbers"},
	} {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		got := tt.p.CheckTarget(context.Background(), u)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("CheckTarget(%s) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// Control judges the address text the dialer hands it, after resolution.
func TestControl(t *testing.T) {
	t.Parallel()
	strict := &netguard.Policy{}
	open := &netguard.Policy{AllowHTTP: true, AllowPrivate: true}
	for _, tt := range []struct {
		address string
		p       *netguard.Policy
		allowed bool
	}{
		{"8.8.8.8:443", strict, true},
		{"[2606:4700::1111]:443", strict, true},
		{"127.0.0.1:443", strict, false},
		{"[::1]:443", strict, false},
		{"[::ffff:127.0.0.1]:443", strict, false},
		{"[fd00::2]:443", strict, false},
		{"127.0.0.1:443", open, true},
		{"[::1]:443", open, true},
		{"[::1%lo]:443", open, false},
		{"[fe80::1%eth0]:443", open, false},
		{"[fd00::2%2]:443", open, false},
		{"127.0.0.1%lo:443", open, false}, // how Go dials [::ffff:127.0.0.1%lo]
		{"[2606:4700::1111%eth0]:443", strict, false},
		{"not an address", strict, false},
	} {
		err := tt.p.Control("tcp", tt.address, nil)
		if (err == nil) != tt.allowed || (err != nil && !errors.Is(err, netguard.ErrBlocked)) {
			t.Errorf("Control(%s, allow private %v) = %v, want allowed=%v", tt.address, tt.p.AllowPrivate, err, tt.allowed)
		}
	}
}

func TestControlRefusesPrivateDial(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	strict := &netguard.Policy{}
	d := net.Dialer{Control: strict.Control}
	_, err = d.Dial("tcp", ln.Addr().String())
	if !errors.Is(err, netguard.ErrBlocked) {
		t.Fatalf("dial loopback with strict policy: err = %v, want ErrBlocked", err)
	}
	open := &netguard.Policy{AllowPrivate: true}
	d = net.Dialer{Control: open.Control}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial loopback with open policy: %v", err)
	}
	c.Close()
}

// watched is a loopback HTTP receiver (204 to everything) that notes the
// remote address of every connection it accepts, in accept order.
type watched struct {
	addr  string // host:port
	port  string
	conns chan string
}

func newWatched(t *testing.T, addr string) *watched {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	w := &watched{addr: ln.Addr().String(), conns: make(chan string, 100)}
	_, w.port, _ = net.SplitHostPort(w.addr)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.WriteHeader(http.StatusNoContent)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			w.conns <- c.RemoteAddr().String()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return w
}

// since returns the connections accepted since the last call. It connects
// once itself and waits until the listener has accepted that connection:
// connections are accepted in the order they were made, so every one made
// before has been noted by then.
func (w *watched) since(t *testing.T) []string {
	t.Helper()
	probe, err := net.Dial("tcp", w.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	var got []string
	timeout := time.After(30 * time.Second)
	for {
		select {
		case a := <-w.conns:
			if a == probe.LocalAddr().String() {
				return got
			}
			got = append(got, a)
		case <-timeout:
			t.Fatalf("listener %s did not accept the probe connection", w.addr)
		}
	}
}

// TestTargetTricks tries ways of writing a URL that reaches this host's
// loopback (or another private address), each at save (Webhook.Validate
// with the policy: a field error on url) and at dial (a real attempt by
// delivery's Sender against listeners on 127.0.0.1 and [::1]: the attempt
// error, and no connection reaching the listeners).
//
// The sender's resolver is a DNS server of the test's (Go's real resolver
// path) that answers every name with 127.0.0.1 and ::1 unless listed, as a
// hostile or rebinding name server would, and as getaddrinfo turns
// "0x7f.1" into 127.0.0.1.
func TestTargetTricks(t *testing.T) {
	t.Parallel()
	v4 := newWatched(t, "127.0.0.1:0")
	v6 := newWatched(t, "[::1]:0")
	// A receiver that answers every request with a redirect to v4.
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+v4.addr+"/stolen", http.StatusFound)
	}))
	t.Cleanup(redir.Close)

	loopback := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
	dns := dnstest.NewResolver(t, func(name string) []netip.Addr {
		switch name {
		case "nowhere.test":
			return nil
		case "mixed.test":
			return []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("127.0.0.1")}
		case "v6only.test":
			return []netip.Addr{netip.MustParseAddr("::1")}
		}
		return loopback
	})
	// At save the policies resolve with the same DNS server, except
	// rebind, whose names resolve to a public address at save and to
	// loopback at dial (a rebinding name server).
	strict := &netguard.Policy{DialResolver: dns}
	httpOnly := &netguard.Policy{AllowHTTP: true, DialResolver: dns}
	dev := &netguard.Policy{AllowHTTP: true, AllowPrivate: true, DialResolver: dns}
	rebind := &netguard.Policy{DialResolver: dns,
		Resolver: fakeResolver{"rebind.test": {netip.MustParseAddr("93.184.216.34")}}}

	const (
		blocked  = hookd.AttemptErrBlockedTarget
		zone     = "must not have an IPv6 zone (%25...)"
		spelling = "must write an IPv4 address as four decimal numbers (a.b.c.d)"
		private  = "must not point to a private, loopback, link-local or metadata address (allowed with --allow-private-targets or --dev)"
		resolves = "must not resolve to a private, loopback, link-local or metadata address (allowed with --allow-private-targets or --dev)"
		https    = "must use https (http is allowed with --allow-http or --dev)"
		creds    = "must not contain credentials; use auth"
		absolute = "must be an absolute http or https URL"
	)
	tests := []struct {
		name string
		url  string // {v4} {v6}: the listeners' host:port, {p4} {p6}: their ports, {redir}: the redirecting receiver
		p    *netguard.Policy
		save string // the url field's error at save; "": accepted
		dial string // the attempt's error; "": success
		// conns is how many connections the listeners must see (both
		// together): 0 but for the rows that prove they would see one.
		conns int
	}{
		// An IPv6 zone, refused under every policy.
		{"zone loopback", "https://[::1%25lo]:{p6}/x", strict, zone, blocked, 0},
		{"zone loopback dev", "http://[::1%25lo]:{p6}/x", dev, zone, blocked, 0},
		{"zone numeric dev", "http://[::1%251]:{p6}/x", dev, zone, blocked, 0},
		{"zone link-local dev", "http://[fe80::1%25eth0]:{p6}/x", dev, zone, blocked, 0},
		{"zone ULA dev", "http://[fd00::2%25eth0]:{p6}/x", dev, zone, blocked, 0},
		{"zone IPv4-mapped dev", "http://[::ffff:127.0.0.1%25lo]:{p4}/x", dev, zone, blocked, 0},
		{"zone public address", "https://[2606:4700::1111%25lo]:{p6}/x", strict, zone, blocked, 0},
		// IPv6 forms of a private IPv4 address or of loopback.
		{"IPv6 loopback", "https://{v6}/x", strict, private, blocked, 0},
		{"IPv6 unspecified", "https://[::]:{p6}/x", strict, private, blocked, 0},
		{"IPv4 unspecified", "https://0.0.0.0:{p4}/x", strict, private, blocked, 0},
		{"IPv4-mapped", "https://[::ffff:127.0.0.1]:{p4}/x", strict, private, blocked, 0},
		{"IPv4-mapped hex", "https://[::ffff:7f00:1]:{p4}/x", strict, private, blocked, 0},
		{"IPv4-mapped long", "https://[0:0:0:0:0:ffff:7f00:1]:{p4}/x", strict, private, blocked, 0},
		{"IPv4-compatible", "https://[::127.0.0.1]:{p6}/x", strict, private, blocked, 0},
		{"IPv4-translated", "https://[::ffff:0:127.0.0.1]:{p6}/x", strict, private, blocked, 0},
		{"NAT64 loopback", "https://[64:ff9b::127.0.0.1]:{p6}/x", strict, private, blocked, 0},
		{"NAT64 local-use", "https://[64:ff9b:1::a00:1]:{p6}/x", strict, private, blocked, 0},
		{"6to4 loopback", "https://[2002:7f00:1::1]:{p6}/x", strict, private, blocked, 0},
		{"6to4 RFC 1918", "https://[2002:c0a8:101::1]:{p6}/x", strict, private, blocked, 0},
		{"Teredo client loopback", "https://[2001:0:808:808::80ff:fffe]:{p6}/x", strict, private, blocked, 0},
		{"Teredo server private", "https://[2001:0:a00:1::f7f7:f7f7]:{p6}/x", strict, private, blocked, 0},
		{"discard prefix", "https://[100::1]:{p6}/x", strict, private, blocked, 0},
		{"ULA metadata", "https://[fd00:ec2::254]:{p6}/x", strict, private, blocked, 0},
		{"link-local metadata", "https://169.254.169.254:{p4}/latest", strict, private, blocked, 0},
		// IPv4 spellings other than a.b.c.d, refused under every policy.
		{"decimal", "https://2130706433:{p4}/x", strict, spelling, blocked, 0},
		{"decimal dev", "http://2130706433:{p4}/x", dev, spelling, blocked, 0},
		{"octal", "https://017700000001:{p4}/x", strict, spelling, blocked, 0},
		{"octal parts", "https://0177.0.0.1:{p4}/x", strict, spelling, blocked, 0},
		{"hex", "https://0x7f000001:{p4}/x", strict, spelling, blocked, 0},
		{"hex parts dev", "http://0x7f.1:{p4}/x", dev, spelling, blocked, 0},
		{"hex upper", "https://0X7F.0.0.1:{p4}/x", strict, spelling, blocked, 0},
		{"short", "https://127.1:{p4}/x", strict, spelling, blocked, 0},
		{"leading zeros", "https://127.000.000.001:{p4}/x", strict, spelling, blocked, 0},
		{"trailing dot address", "https://127.0.0.1.:{p4}/x", strict, spelling, blocked, 0},
		{"zero", "https://0:{p4}/x", strict, spelling, blocked, 0},
		// Names of loopback, and names that resolve to private addresses.
		{"localhost", "https://localhost:{p4}/x", strict, private, blocked, 0},
		{"localhost upper", "https://LOCALHOST:{p4}/x", strict, private, blocked, 0},
		{"localhost trailing dot", "https://localhost.:{p4}/x", strict, private, blocked, 0},
		{"sub.localhost", "https://a.b.LocalHost:{p4}/x", strict, private, blocked, 0},
		{"metadata name", "https://metadata.google.internal:{p4}/x", strict, private, blocked, 0},
		{"resolves to loopback", "https://private.test:{p4}/x", strict, resolves, blocked, 0},
		{"nip.io style", "https://127.0.0.1.nip.io:{p4}/x", strict, resolves, blocked, 0},
		{"resolves to IPv6 loopback", "https://v6only.test:{p6}/x", strict, resolves, blocked, 0},
		{"mixed answers", "https://mixed.test:{p4}/x", strict, resolves, blocked, 0},
		{"DNS rebinding", "https://rebind.test:{p4}/x", rebind, "", blocked, 0},
		{"unresolvable at save", "https://nowhere.test:{p4}/x", strict, "", hookd.AttemptErrDNS, 0},
		// Userinfo and parser confusion.
		{"userinfo", "https://evil@127.0.0.1:{p4}/x", strict, creds, blocked, 0},
		{"userinfo looks like host", "https://127.0.0.1:{p4}@example.test/x", strict, creds, blocked, 0},
		{"userinfo dev", "http://user:pass@127.0.0.1:{p4}/x", dev, creds, "", 1},
		{"backslash userinfo", `https://example.test\@127.0.0.1:{p4}/x`, strict, absolute, hookd.AttemptErrNetwork, 0},
		{"backslash host", `https://127.0.0.1:{p4}\.example.test/x`, strict, absolute, hookd.AttemptErrNetwork, 0},
		{"percent-encoded host", "https://%31%32%37.0.0.1:{p4}/x", strict, absolute, hookd.AttemptErrNetwork, 0},
		{"mixed-case scheme", "HTTPS://127.0.0.1:{p4}/x", strict, private, blocked, 0},
		{"space in path", "https://127.0.0.1:{p4}/a b", strict, "must not contain spaces; write them as %20", blocked, 0},
		// Scheme rules and what each policy says.
		{"http", "http://{v4}/x", strict, https, blocked, 0},
		{"http allowed, loopback not", "http://{v4}/x", httpOnly, private, blocked, 0},
		{"http allowed, IPv6 loopback not", "http://{v6}/x", httpOnly, private, blocked, 0},
		// Redirects are never followed, even where the policy allows the
		// Location.
		{"redirect to loopback", "http://{redir}/x", dev, "", hookd.AttemptErrRedirect, 0},
		// The listeners do see a connection the policy allows: the rows
		// above would notice one.
		{"allowed IPv4", "http://{v4}/ok", dev, "", "", 1},
		{"allowed IPv6", "http://{v6}/ok", dev, "", "", 1},
		{"allowed name", "http://private.test:{p4}/ok", dev, "", "", 1},
	}
	if len(tests) < 40 {
		t.Fatalf("%d rows", len(tests))
	}
	fill := strings.NewReplacer("{v4}", v4.addr, "{v6}", v6.addr, "{p4}", v4.port, "{p6}", v6.port,
		"{redir}", strings.TrimPrefix(redir.URL, "http://"))
	senders := map[*netguard.Policy]*delivery.Sender{}
	for _, p := range []*netguard.Policy{strict, httpOnly, dev, rebind} {
		s := delivery.NewSender(p, 2, nil)
		t.Cleanup(s.CloseIdleConnections)
		senders[p] = s
	}
	// The rows run one after the other: each counts the connections the
	// listeners saw since the row before.
	for _, tt := range tests {
		raw := fill.Replace(tt.url)

		w := hookd.NewWebhookDefaults()
		w.Name, w.URL, w.EventTypes = "tricks", raw, []string{"*"}
		if got := urlError(w.Validate(context.Background(), tt.p)); got != tt.save {
			t.Errorf("%s: save %s: url error %q, want %q", tt.name, raw, got, tt.save)
		}

		r := senders[tt.p].Send(context.Background(), attemptTo(raw))
		if r.Attempt.Error != tt.dial || r.Attempt.Success != (tt.dial == "") {
			t.Errorf("%s: dial %s: attempt error %q (success %v, err %v), want %q", tt.name, raw, r.Attempt.Error, r.Attempt.Success, r.Err, tt.dial)
		}
		if conns := append(v4.since(t), v6.since(t)...); len(conns) != tt.conns {
			t.Errorf("%s: dial %s: listeners saw %d connections %v, want %d", tt.name, raw, len(conns), conns, tt.conns)
		}
		senders[tt.p].CloseIdleConnections()
	}
}

// urlError returns the message of err's field error on url, or "".
func urlError(err error) string {
	var e *hookd.Error
	if !errors.As(err, &e) {
		return ""
	}
	for _, f := range e.Fields {
		if f.Field == "url" {
			return f.Message
		}
	}
	return ""
}

// attemptTo is a claimed-looking delivery of a fresh message to raw, as
// if a webhook with that URL had been stored (before a rule existed, or
// with a name that resolved elsewhere at save).
func attemptTo(raw string) *hookd.Delivery {
	return &hookd.Delivery{
		Message: hookd.Message{ID: hookd.NewID(hookd.PrefixMessage), TenantID: "acme", WebhookID: "wh_1",
			EventID: "evt_1", EventType: "Unit.Updated", State: hookd.StateCreated},
		Event: hookd.Event{ID: "evt_1", TenantID: "acme", Type: "Unit.Updated",
			Payload: json.RawMessage(`{}`), CreatedAt: time.Now().UTC()},
		Webhook: hookd.Webhook{ID: "wh_1", TenantID: "acme", URL: raw, Enabled: true,
			Secrets: []hookd.Secret{{Value: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}, TimeoutMS: 5000},
		Lease:   1,
		Trigger: hookd.TriggerScheduled,
	}
}
