// Package netguard decides which network addresses hookd may deliver to: the
// target policy checked when a webhook is registered, and again at dial
// time, so that a host name that later resolves to a private address (DNS
// rebinding) is still refused.
//
// The address ranges are kept here by hand rather than taken from
// code.dny.dev/ssrf (measured in the shared DEPENDENCIES.md): that library
// refuses every IPv6 address outside 2000::/3 and all of 6to4 and Teredo,
// and lets NAT64 through only as a whole prefix, with 64:ff9b::7f00:1
// (127.0.0.1) inside it. hookd judges the addresses that NAT64, 6to4 and
// Teredo carry by the IPv4 address inside them, needs the same judgement at
// registration (with messages a client can act on) as at dial, and must
// refuse an IPv6 zone under every policy; the library would be a Control
// hook to configure plus this code anyway. The lists follow the IANA IPv4
// and IPv6 special-purpose address registries (entries that are not
// globally reachable) and are tested row by row in netguard_test.go.
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

	"github.com/hookd/hookd"
)

// blockedV4 are the IPv4 ranges refused unless private targets are
// allowed: the IANA special-purpose entries that are not globally
// reachable, plus multicast and the deprecated 6to4 relay anycast. CGNAT
// holds Alibaba's metadata address and link-local the 169.254.169.254
// cloud metadata address. The AS112 and AMT anycast ranges (192.31.196/24,
// 192.52.193/24, 192.175.48/24) are public services and stay allowed.
var blockedV4 = mustPrefixes(
	"0.0.0.0/8",       // "this network"
	"10.0.0.0/8",      // private (RFC 1918)
	"100.64.0.0/10",   // shared address space, CGNAT (RFC 6598)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local
	"172.16.0.0/12",   // private (RFC 1918)
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation
	"192.88.99.0/24",  // 6to4 relay anycast (deprecated, RFC 7526)
	"192.168.0.0/16",  // private (RFC 1918)
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation
	"203.0.113.0/24",  // documentation
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
)

// Only IPv6 global unicast reaches the internet: everything outside
// 2000::/3 is refused, which covers unspecified, loopback, IPv4-compatible
// ::/96, IPv4-translated ::ffff:0:0/96, local-use NAT64 64:ff9b:1::/48,
// discard 100::/64, ULA fc00::/7 (AWS's fd00:ec2::254), link-local,
// site-local and multicast, and whatever IANA assigns there later.
var (
	globalUnicast = netip.MustParsePrefix("2000::/3")
	nat64         = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64: judged by its IPv4
	sixToFour     = netip.MustParsePrefix("2002::/16")    // 6to4: judged by its IPv4 (bits 16..47)
	teredo        = netip.MustParsePrefix("2001::/32")    // Teredo: judged by its server and client IPv4
)

// blockedV6 are the ranges inside 2000::/3 that are refused: the IANA
// special-purpose entries there that are not globally reachable. Inside
// 2001::/23 (IETF protocol assignments) a few anycast services are global
// (PCP, TURN, AMT, AS112, ORCHIDv2, drone remote ID); none is a webhook
// receiver, so the whole /23 is refused except Teredo, judged above.
var blockedV6 = mustPrefixes(
	"2001::/23",     // IETF protocol assignments, benchmarking 2001:2::/48, ORCHID
	"2001:db8::/32", // documentation
	"3fff::/20",     // documentation (RFC 9637)
	"5f00::/16",     // SRv6 SIDs (RFC 9602)
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// IsPrivate reports whether ip is not a public internet address: it
// carries a zone (no range matches such an address, and a zone names an
// interface of this host), or it is in a range above. IPv4-mapped
// (::ffff:a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo
// (2001::/32) addresses are judged by the IPv4 addresses they carry.
func IsPrivate(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" {
		return true
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return inAny(blockedV4, ip)
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return IsPrivate(netip.AddrFrom4([4]byte(b[12:16])))
	case !globalUnicast.Contains(ip):
		return true
	case sixToFour.Contains(ip):
		return IsPrivate(netip.AddrFrom4([4]byte(b[2:6])))
	case teredo.Contains(ip):
		// The server's IPv4 is bits 32..63, the client's the last 32
		// bits inverted (RFC 4380).
		client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return IsPrivate(netip.AddrFrom4([4]byte(b[4:8]))) || IsPrivate(netip.AddrFrom4(client))
	}
	return inAny(blockedV6, ip)
}

func inAny(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
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
	AllowHTTP    bool // http:// targets allowed (--allow-http)
	AllowPrivate bool // private, loopback, … targets allowed (--allow-private-targets)
	// Resolver looks names up when a target is registered (nil:
	// DialResolver, or net.DefaultResolver).
	Resolver Resolver
	// DialResolver resolves names when a delivery dials (nil: Go's
	// default); a test points it at a DNS server of its own.
	DialResolver *net.Resolver
}

// ErrBlocked is returned (wrapped) by Control and CheckURL when the target
// is refused.
var ErrBlocked = errors.New("target address is not allowed")

// The field messages of a refused target. Each names the server flag that
// would allow it, so that the client knows what to ask for.
const (
	msgHTTPS       = "must use https (http is allowed with --allow-http or --dev)"
	msgPrivate     = "must not point to a private, loopback, link-local or metadata address (allowed with --allow-private-targets or --dev)"
	msgPrivateName = "must not resolve to a private, loopback, link-local or metadata address (allowed with --allow-private-targets or --dev)"
)

// refuse returns why u may not be a delivery target, judged without
// resolving its host, or "".
func (p *Policy) refuse(u *url.URL) string {
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !p.AllowHTTP {
			return msgHTTPS
		}
	default:
		return "must be an absolute http or https URL"
	}
	host := u.Hostname()
	if host == "" {
		return "must have a host"
	}
	// Zones and odd IPv4 spellings are refused under every policy.
	if msg := hookd.CheckHost(host); msg != "" {
		return msg
	}
	if p.AllowPrivate {
		return ""
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if IsPrivate(ip) {
			return msgPrivate
		}
		return ""
	}
	if isLocalName(strings.TrimSuffix(host, ".")) {
		return msgPrivate
	}
	return ""
}

// isLocalName reports whether name (without a trailing dot, any case) is
// localhost, a subdomain of it, or the cloud metadata service's name.
func isLocalName(name string) bool {
	hasSuffix := func(s string) bool {
		return len(name) >= len(s) && strings.EqualFold(name[len(name)-len(s):], s)
	}
	return strings.EqualFold(name, "localhost") || hasSuffix(".localhost") ||
		strings.EqualFold(name, "metadata.google.internal")
}

// CheckURL returns an error wrapping ErrBlocked if u may not be dialled
// under p, judged without resolving its host: the scheme, a host with an
// IPv6 zone or an IPv4 address not written a.b.c.d, a private address or
// a localhost name. The sender calls it before every attempt, so a URL
// stored before a rule existed is refused too; Control then judges every
// address a name resolves to.
func (p *Policy) CheckURL(u *url.URL) error {
	if msg := p.refuse(u); msg != "" {
		return fmt.Errorf("%w: url %s", ErrBlocked, msg)
	}
	return nil
}

// CheckTarget implements hookd.TargetChecker: it returns why u may not be a
// delivery target, or "" if it may. A host whose name cannot be resolved now
// is accepted (the address is checked again at every dial).
func (p *Policy) CheckTarget(ctx context.Context, u *url.URL) string {
	if msg := p.refuse(u); msg != "" || p.AllowPrivate {
		return msg
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		return "" // an address refuse judged
	}
	var r Resolver = net.DefaultResolver
	if p.Resolver != nil {
		r = p.Resolver
	} else if p.DialResolver != nil {
		r = p.DialResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if IsPrivate(a) {
			return msgPrivateName
		}
	}
	return ""
}

// Control is a net.Dialer Control hook: it refuses a connection to an
// address with an IPv6 zone under every policy, and to a private address
// unless the policy allows them. It runs after name resolution, on the
// very address being dialled, which defeats DNS rebinding.
func (p *Policy) Control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlocked, address)
	}
	// Go dials [::ffff:127.0.0.1%lo] as "127.0.0.1%lo", which no
	// netip.Addr parses: look for the zone in the text.
	if strings.Contains(host, "%") {
		return fmt.Errorf("%w: %s has an IPv6 zone", ErrBlocked, address)
	}
	if p.AllowPrivate {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || IsPrivate(ip) {
		return fmt.Errorf("%w: %s", ErrBlocked, address)
	}
	return nil
}
