package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"testing"

	"github.com/hookd/hookd/netguard"
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
		{"100.128.0.1", false}, {"0.0.0.0", true}, {"224.0.0.1", true}, {"255.255.255.255", true},
		{"8.8.8.8", false}, {"1.1.1.1", false}, {"::1", true}, {"::", true},
		{"fd00:ec2::254", true}, {"fe80::1", true}, {"ff02::1", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:8.8.8.8", false}, {"64:ff9b::a00:1", true},
		{"2606:4700::1111", false},
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
	}
	strict := &netguard.Policy{Resolver: res}
	open := &netguard.Policy{AllowHTTP: true, AllowPrivate: true, Resolver: res}
	for _, tt := range []struct {
		url     string
		p       *netguard.Policy
		allowed bool
	}{
		{"https://public.test/hook", strict, true},
		{"http://public.test/hook", strict, false},
		{"http://public.test/hook", open, true},
		{"ftp://public.test/hook", open, false},
		{"https://127.0.0.1/hook", strict, false},
		{"https://[::1]:8443/hook", strict, false},
		{"https://localhost/hook", strict, false},
		{"https://a.localhost/hook", strict, false},
		{"https://169.254.169.254/latest", strict, false},
		{"https://private.test/x", strict, false},
		{"https://rebind.test/x", strict, false},
		{"https://unknown.test/x", strict, true}, // unresolvable now: checked at dial time
		{"https://127.0.0.1/hook", open, true},
	} {
		u, _ := url.Parse(tt.url)
		got := tt.p.CheckTarget(context.Background(), u)
		if (got == "") != tt.allowed {
			t.Errorf("CheckTarget(%s) = %q, want allowed=%v", tt.url, got, tt.allowed)
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
