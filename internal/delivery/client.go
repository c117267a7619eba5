package delivery

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hookd/hookd/internal/netguard"
)

// client is the Sender's HTTP/1.1 client. An attempt writes its request
// and reads the answer on the worker's own goroutine, on a connection kept
// alive per target. net/http's Transport runs two goroutines per
// connection and hands every request and answer between them: on loopback
// that cost 50–64 µs of CPU per request, against 24 µs written directly
// (BENCHMARKS.md, change 11), and the Sender was a third of hookd's CPU
// per delivery. It does only what a webhook POST needs: no proxy, no
// redirects, no compression, no HTTP/2, no Expect: 100-continue. Answers
// are parsed by net/http's ReadResponse.
type client struct {
	dialer      *net.Dialer
	tls         *tls.Config // cloned per connection with its ServerName
	maxIdle     int         // idle connections kept per target
	idleTimeout time.Duration

	mu        sync.Mutex
	idle      map[string][]*pconn // per target; the most recently used last
	lastSweep time.Time
}

// maxAnswerHead bounds the status line and headers of an answer (net/http's
// Transport allows 10 MB by default; a receiver needs far less).
const maxAnswerHead = 1 << 20

// pconn is one kept-alive connection.
type pconn struct {
	conn  net.Conn
	in    *budgetReader // conn, counted while an answer's head is read
	br    *bufio.Reader // reads in
	buf   []byte        // the request being written
	since time.Time
}

// budgetReader reads from r and fails once more than left bytes were read,
// while left is not negative.
type budgetReader struct {
	r    io.Reader
	left int64 // < 0: no limit
}

var errAnswerHeadTooLarge = errors.New("answer head too large")

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left < 0 {
		return b.r.Read(p)
	}
	if b.left == 0 {
		return 0, errAnswerHeadTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// target is where a request goes, from a webhook URL.
type target struct {
	key        string // scheme://host:port: the pool of connections
	addr       string // host:port to dial
	tls        bool
	serverName string
	host       string // the Host header
	uri        string // the request target: path and query
}

// parseTarget reads a webhook URL (http or https).
func parseTarget(u *url.URL) target {
	host, port := u.Hostname(), u.Port()
	secure := u.Scheme == "https"
	if port == "" {
		port = "80"
		if secure {
			port = "443"
		}
	}
	addr := net.JoinHostPort(host, port)
	return target{key: u.Scheme + "://" + addr, addr: addr, tls: secure, serverName: host,
		host: u.Host, uri: requestTarget(u)}
}

// requestTarget is u's path and query as the request line carries them.
// url.URL escapes the path but keeps the query as given, and a query may
// hold a space or raw UTF-8 (url.Parse accepts both), which would break
// the request line or send bytes RFC 9112 does not allow there: those
// bytes are percent-encoded, everything else (existing %XX included) is
// kept.
func requestTarget(u *url.URL) string {
	uri := u.RequestURI()
	clean := true
	for i := 0; i < len(uri); i++ {
		if uri[i] <= ' ' || uri[i] >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return uri
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(uri)+16)
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= ' ' || c >= 0x7f {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// answer is what came back for one request: the status and headers, up to
// MaxResponseBody bytes of the body, and bodyErr if reading the body
// failed (the status still counts: the receiver answered).
type answer struct {
	status  int
	header  http.Header
	body    []byte
	bodyErr error
}

// errNoAnswer marks a failure on a kept-alive connection before any byte
// of the answer arrived: the receiver may have closed it while idle.
var errNoAnswer = errors.New("connection closed before an answer")

// post writes the request built by write (everything up to and including
// the empty line, then the body) to t and reads the answer, all before
// ctx ends. A request that failed on a kept-alive connection before any
// byte of the answer came is sent once more on a new connection: the
// receiver most likely closed the idle connection (receivers deduplicate
// by webhook-id, and delivery is at least once anyway).
func (c *client) post(ctx context.Context, t target, write func([]byte) []byte) (*answer, error) {
	pc, reused := c.get(t.key)
	for {
		if pc == nil {
			var err error
			if pc, err = c.dial(ctx, t); err != nil {
				return nil, err
			}
		}
		a, keep, err := pc.roundTrip(ctx, write)
		if keep {
			c.put(t.key, pc)
		} else {
			pc.conn.Close()
		}
		if err != nil && reused && errors.Is(err, errNoAnswer) && ctx.Err() == nil {
			pc, reused = nil, false
			continue
		}
		return a, err
	}
}

// roundTrip sends one request on pc and reads its answer; keep reports
// whether pc can carry another one.
func (pc *pconn) roundTrip(ctx context.Context, write func([]byte) []byte) (a *answer, keep bool, err error) {
	if d, ok := ctx.Deadline(); ok {
		pc.conn.SetDeadline(d)
	} else {
		pc.conn.SetDeadline(time.Time{})
	}
	// An attempt cancelled before its deadline (a drain giving up) ends
	// at once too.
	cancelled := context.AfterFunc(ctx, func() { pc.conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !cancelled() {
			keep = false // its deadline is in the past now
		}
	}()

	pc.buf = write(pc.buf[:0])
	if _, err := pc.conn.Write(pc.buf); err != nil {
		return nil, false, noAnswer(err)
	}
	if len(pc.buf) > 64<<10 {
		pc.buf = nil // do not keep a large body's buffer
	}
	if _, err := pc.br.Peek(1); err != nil {
		return nil, false, noAnswer(err)
	}
	var resp *http.Response
	for {
		pc.in.left = maxAnswerHead - int64(pc.br.Buffered())
		resp, err = http.ReadResponse(pc.br, &http.Request{Method: http.MethodPost})
		pc.in.left = -1
		if err != nil {
			return nil, false, fmt.Errorf("read answer: %w", err)
		}
		if resp.StatusCode < 100 {
			return nil, false, fmt.Errorf("read answer: malformed status %q", resp.Status)
		}
		// Informational answers (103 Early Hints) come before the real
		// one; 101 would switch protocols, which a POST never asked for.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	a = &answer{status: resp.StatusCode, header: resp.Header}
	a.body, a.bodyErr = io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	drained := false
	if a.bodyErr == nil {
		// Read what is left of a modest answer so the connection carries
		// the next request; a longer one closes it.
		_, err := io.CopyN(io.Discard, resp.Body, maxDrain)
		switch {
		case err == io.EOF:
			drained = true
		case err != nil:
			a.bodyErr = err
		}
	}
	resp.Body.Close()
	return a, drained && !resp.Close && a.status != http.StatusSwitchingProtocols, nil
}

// noAnswer marks err as a failure before any byte of the answer, when it
// is one a receiver closing an idle connection causes.
func noAnswer(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("%w: %w", errNoAnswer, err)
	}
	return err
}

// refusedKey is the context key of the flag guard sets when it refuses
// an address of a dial.
type refusedKey struct{}

// guard is the dialer's Control hook: control (the target policy's) on
// every address dialled, noting a refusal in the dial's context. A name
// with several addresses is dialled one address after the other and the
// dial reports only the first failure, so a refused private address would
// otherwise hide behind a public one that timed out.
func guard(control func(network, address string, c syscall.RawConn) error) func(context.Context, string, string, syscall.RawConn) error {
	return func(ctx context.Context, network, address string, c syscall.RawConn) error {
		err := control(network, address, c)
		if err != nil {
			if refused, ok := ctx.Value(refusedKey{}).(*atomic.Bool); ok {
				refused.Store(true)
			}
		}
		return err
	}
}

// dial opens a connection to t (TLS for https) before ctx ends. If the
// guard refused any address of t and no connection was made, the error
// wraps netguard.ErrBlocked (the attempt is blocked_target).
func (c *client) dial(ctx context.Context, t target) (*pconn, error) {
	var refused atomic.Bool
	conn, err := c.dialer.DialContext(context.WithValue(ctx, refusedKey{}, &refused), "tcp", t.addr)
	if err != nil {
		if refused.Load() && !errors.Is(err, netguard.ErrBlocked) {
			err = fmt.Errorf("%w: an address of %s was refused; then %w", netguard.ErrBlocked, t.addr, err)
		}
		return nil, err
	}
	if t.tls {
		cfg := c.tls.Clone()
		cfg.ServerName = t.serverName
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	in := &budgetReader{r: conn, left: -1}
	return &pconn{conn: conn, in: in, br: bufio.NewReaderSize(in, 4<<10)}, nil
}

// get takes the most recently used idle connection to key, if any.
func (c *client) get(key string) (*pconn, bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	conns := c.idle[key]
	for len(conns) > 0 {
		pc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		conns = conns[:len(conns)-1]
		if now.Sub(pc.since) < c.idleTimeout {
			c.idle[key] = conns
			return pc, true
		}
		pc.conn.Close()
	}
	delete(c.idle, key)
	return nil, false
}

// put keeps pc for the next request to key, unless key has enough.
func (c *client) put(key string, pc *pconn) {
	pc.conn.SetDeadline(time.Time{})
	pc.since = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle == nil {
		c.idle = map[string][]*pconn{}
	}
	if len(c.idle[key]) >= c.maxIdle {
		pc.conn.Close()
		return
	}
	c.idle[key] = append(c.idle[key], pc)
}

// sweep closes connections idle for longer than idleTimeout, at most
// twice per idleTimeout. c.mu is held.
func (c *client) sweep(now time.Time) {
	if now.Sub(c.lastSweep) < c.idleTimeout/2 {
		return
	}
	c.lastSweep = now
	for key, conns := range c.idle {
		kept := conns[:0]
		for _, pc := range conns {
			if now.Sub(pc.since) < c.idleTimeout {
				kept = append(kept, pc)
			} else {
				pc.conn.Close()
			}
		}
		clear(conns[len(kept):])
		if len(kept) == 0 {
			delete(c.idle, key)
		} else {
			c.idle[key] = kept
		}
	}
}

// closeIdle closes every idle connection.
func (c *client) closeIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, conns := range c.idle {
		for _, pc := range conns {
			pc.conn.Close()
		}
		delete(c.idle, key)
	}
}
