// Package netguard decides which network addresses hookd may deliver to: the
// target policy checked when a webhook is registered, and again at dial
// time, so that a host name that later resolves to a private address (DNS
// rebinding) is still refused.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// blockedPrefixes are the ranges refused unless private targets are allowed:
// unspecified, "this network", loopback, RFC 1918, CGNAT (also Alibaba's
// metadata address), link-local (also the 169.254.169.254 cloud metadata
// address), IETF protocol assignments, benchmarking, multicast, reserved,
// broadcast; IPv6 unspecified, loopback, ULA (also AWS's fd00:ec2::254),
// link-local, multicast, documentation, site-local.
var blockedPrefixes = mustPrefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
	"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "2001:db8::/32",
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// IsPrivate reports whether ip is in a range that is not a public internet
// address (see blockedPrefixes). IPv4-mapped and NAT64 (64:ff9b::/96)
// addresses are judged by the IPv4 address they carry.
func IsPrivate(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is6() && netip.MustParsePrefix("64:ff9b::/96").Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Resolver looks up the addresses of a host; *net.Resolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy is the operator's target policy.
type Policy struct {
	AllowHTTP    bool     // http:// targets allowed (--allow-http)
	AllowPrivate bool     // private, loopback, … targets allowed (--allow-private-targets)
	Resolver     Resolver // nil: net.DefaultResolver
}

// ErrBlocked is returned (wrapped) by Control when the address is refused.
var ErrBlocked = errors.New("target address is not allowed")

// CheckTarget implements hookd.TargetChecker: it returns why u may not be a
// delivery target, or "" if it may. A host whose name cannot be resolved now
// is accepted (the address is checked again at every dial).
func (p *Policy) CheckTarget(ctx context.Context, u *url.URL) string {
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowHTTP {
			return "must use https"
		}
	default:
		return "must be an absolute http or https URL"
	}
	host := u.Hostname()
	if host == "" {
		return "must have a host"
	}
	if p.AllowPrivate {
		return ""
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if IsPrivate(ip) {
			return "must not point to a private, loopback, link-local or metadata address"
		}
		return ""
	}
	lh := strings.ToLower(strings.TrimSuffix(host, "."))
	if lh == "localhost" || strings.HasSuffix(lh, ".localhost") || lh == "metadata.google.internal" {
		return "must not point to a private, loopback, link-local or metadata address"
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if IsPrivate(a) {
			return "must not resolve to a private, loopback, link-local or metadata address"
		}
	}
	return ""
}

// Control is a net.Dialer Control hook: it refuses a connection to a private
// address unless the policy allows them. It runs after name resolution, on
// the very address being dialled, which defeats DNS rebinding.
func (p *Policy) Control(network, address string, _ syscall.RawConn) error {
	if p.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlocked, address)
	}
	if IsPrivate(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrBlocked, ap.Addr())
	}
	return nil
}
