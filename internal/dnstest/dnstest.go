// Package dnstest is a DNS server on loopback for tests: it answers A and
// AAAA questions from a function, so that Go's own resolver (and every
// dialer that uses it) turns names into the addresses a test chooses,
// through the real resolution path rather than a fake of it.
package dnstest

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// Answer returns the addresses of name (lower case, without the trailing
// dot), or nil for a name that does not exist (NXDOMAIN).
type Answer func(name string) []netip.Addr

// NewResolver starts a DNS server on 127.0.0.1 answering with answer and
// returns a resolver that asks only it (after /etc/hosts, as Go's
// resolver does). The server stops when tb's test ends.
func NewResolver(tb testing.TB, answer Answer) *net.Resolver {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			if out := reply(buf[:n], answer); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	tb.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	addr := pc.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", addr)
		},
	}
}

// DNS record types and classes (RFC 1035, RFC 3596).
const (
	typeA    = 1
	typeAAAA = 28
	classIN  = 1
)

// reply builds the answer to the query q, or nil if q is not one question.
func reply(q []byte, answer Answer) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	// The question: labels up to a zero byte, then type and class.
	i := 12
	var labels []string
	for {
		if i >= len(q) {
			return nil
		}
		n := int(q[i])
		if n == 0 {
			i++
			break
		}
		if n > 63 || i+1+n > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+n]))
		i += 1 + n
	}
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i : i+2])
	question := q[12 : i+4]

	addrs := answer(strings.ToLower(strings.Join(labels, ".")))
	var records [][]byte
	for _, a := range addrs {
		var rdata []byte
		switch {
		case qtype == typeA && a.Is4():
			b := a.As4()
			rdata = b[:]
		case qtype == typeAAAA && a.Is6() && !a.Is4In6():
			b := a.As16()
			rdata = b[:]
		default:
			continue
		}
		// Name: a pointer to the question's (offset 12); TTL 0.
		r := []byte{0xc0, 12, 0, byte(qtype), 0, classIN, 0, 0, 0, 0, 0, byte(len(rdata))}
		records = append(records, append(r, rdata...))
	}

	out := make([]byte, 12, 512)
	copy(out[0:2], q[0:2])                            // id
	flags := uint16(0x8000 | 0x0400 | 0x0080)         // response, authoritative, recursion available
	flags |= binary.BigEndian.Uint16(q[2:4]) & 0x0100 // recursion desired, echoed
	if addrs == nil {
		flags |= 3 // NXDOMAIN
	}
	binary.BigEndian.PutUint16(out[2:4], flags)
	binary.BigEndian.PutUint16(out[4:6], 1)
	binary.BigEndian.PutUint16(out[6:8], uint16(len(records)))
	out = append(out, question...)
	for _, r := range records {
		out = append(out, r...)
	}
	return out
}
