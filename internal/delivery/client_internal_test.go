package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dnstest"
	"github.com/hookd/hookd/internal/netguard"
)

// A name with two addresses, one refused by the guard and one where
// nothing listens: the dial reports only its first failure, which may be
// the refused connection; the attempt is blocked_target either way.
func TestDialReportsRefusedAddress(t *testing.T) {
	t.Parallel()
	dns := dnstest.NewResolver(t, func(string) []netip.Addr {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
	})
	// A port nothing listens on (a moment ago), on either address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()

	hidden := false // the dialer's own error did not say the guard refused
	for _, refused := range []string{"127.0.0.1", "::1"} {
		control := func(_, address string, _ syscall.RawConn) error {
			if host, _, _ := net.SplitHostPort(address); host == refused {
				return netguard.ErrBlocked
			}
			return nil
		}
		c := &client{
			dialer:      &net.Dialer{ControlContext: guard(control), Resolver: dns},
			tls:         &tls.Config{},
			maxIdle:     2,
			idleTimeout: time.Minute,
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, raw := c.dialer.DialContext(ctx, "tcp", "mixed.test:"+port)
		hidden = hidden || (raw != nil && !errors.Is(raw, netguard.ErrBlocked))
		_, err := c.dial(ctx, target{addr: "mixed.test:" + port})
		if got := classify(ctx, err); got != hookd.AttemptErrBlockedTarget {
			t.Errorf("%s refused: dial error %v, classified %q, want blocked_target", refused, err, got)
		}
		cancel()
	}
	if !hidden {
		t.Fatal("the dialer reported the guard's refusal first both times: the test proves nothing")
	}
}
