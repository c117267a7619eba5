package dnstest_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/hookd/hookd/internal/dnstest"
)

func TestResolver(t *testing.T) {
	t.Parallel()
	r := dnstest.NewResolver(t, func(name string) []netip.Addr {
		if name == "both.test" {
			return []netip.Addr{netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("fd00::7")}
		}
		return nil
	})
	for _, tt := range []struct {
		host, network string
		want          []string // nil: no such host
	}{
		{"both.test", "ip4", []string{"10.0.0.7"}},
		{"both.test", "ip6", []string{"fd00::7"}},
		{"BOTH.test.", "ip", []string{"10.0.0.7", "fd00::7"}},
		{"none.test", "ip", nil},
	} {
		addrs, err := r.LookupNetIP(context.Background(), tt.network, tt.host)
		var got []string
		for _, a := range addrs {
			got = append(got, a.Unmap().String())
		}
		slices.Sort(got)
		if tt.want == nil {
			var dnsErr *net.DNSError
			if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
				t.Errorf("LookupNetIP(%s, %s) = %v, %v; want no such host", tt.network, tt.host, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("LookupNetIP(%s, %s) = %v, %v; want %v", tt.network, tt.host, got, err, tt.want)
		}
	}
}
