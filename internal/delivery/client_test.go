package delivery_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
)

// A kept-alive connection the receiver closed while idle fails before any
// answer; the attempt goes again on a new connection and succeeds, sent
// once to the receiver's handler.
func TestSendIdleConnectionClosed(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv, conns := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	s := newSender(t, loopback)
	if r := s.Send(context.Background(), newDelivery(srv.URL)); !r.Attempt.Success {
		t.Fatalf("first attempt %+v, err %v", r.Attempt, r.Err)
	}
	srv.CloseClientConnections()
	if r := s.Send(context.Background(), newDelivery(srv.URL)); !r.Attempt.Success {
		t.Fatalf("attempt after the receiver closed the idle connection: %+v, err %v", r.Attempt, r.Err)
	}
	if h, c := hits.Load(), conns.Load(); h != 2 || c != 2 {
		t.Fatalf("handler ran %d times on %d connections, want 2 on 2", h, c)
	}
}

// A new connection that breaks before the answer is not tried again: the
// attempt fails.
func TestSendResetOnNewConnectionNotRetried(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		resetConn(t, w)
	})
	r := newSender(t, loopback).Send(context.Background(), newDelivery(srv.URL))
	if r.Attempt.Success || r.Attempt.Error != hookd.AttemptErrReset {
		t.Fatalf("attempt %+v, err %v; want connection_reset", r.Attempt, r.Err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
}

// An answer with Connection: close, or without a length (read to the end
// of the connection), leaves the connection closed: the next attempt
// dials again.
func TestSendConnectionNotKept(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]http.HandlerFunc{
		"connection close": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusOK)
		},
		"http/1.0 without length": func(w http.ResponseWriter, r *http.Request) {
			c, brw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			brw.WriteString("HTTP/1.0 200 OK\r\n\r\nok")
			brw.Flush()
			c.Close()
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, conns := newCountingServer(t, h)
			s := newSender(t, loopback)
			for i := range 2 {
				if r := s.Send(context.Background(), newDelivery(srv.URL)); !r.Attempt.Success {
					t.Fatalf("attempt %d: %+v, err %v", i, r.Attempt, r.Err)
				}
			}
			if n := conns.Load(); n != 2 {
				t.Fatalf("2 attempts opened %d connections, want 2", n)
			}
		})
	}
}

// Informational answers before the final one are skipped.
func TestSendEarlyHints(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "done")
	})
	r := newSender(t, loopback).Send(context.Background(), newDelivery(srv.URL))
	if !r.Attempt.Success || r.Attempt.StatusCode != 200 || r.Attempt.ResponseBody != "done" {
		t.Fatalf("attempt %+v, err %v; want 200 done", r.Attempt, r.Err)
	}
}

// HTTPS: the receiver's certificate is verified for the URL's host name,
// the request goes over HTTP/1.1 and the connection is kept.
func TestSendHTTPS(t *testing.T) {
	t.Parallel()
	var proto atomic.Value
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(r.Proto)
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	s := newSender(t, loopback)
	delivery.TrustRoots(s, roots)
	// httptest's certificate is for example.com and 127.0.0.1.
	for range 3 {
		if r := s.Send(context.Background(), newDelivery(srv.URL)); !r.Attempt.Success {
			t.Fatalf("attempt %+v, err %v", r.Attempt, r.Err)
		}
	}
	if p := proto.Load(); p != "HTTP/1.1" || conns.Load() != 1 {
		t.Fatalf("proto %v on %d connections, want HTTP/1.1 on 1", p, conns.Load())
	}
}

// Whatever a stored webhook holds, the request carries no line break
// outside its framing: a header value with one is left out.
func TestSendNoHeaderInjection(t *testing.T) {
	t.Parallel()
	head := make(chan string, 1)
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var lines []string
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
			lines = append(lines, line)
		}
		head <- strings.Join(lines, "")
		io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
	})
	d := newDelivery("http://" + addr + "/x")
	d.Webhook.Headers = map[string][]string{"X-Ok": {"fine"}, "X-Bad": {"a\r\nInjected: yes"}, "Bad Name": {"v"}}
	d.Webhook.Auth = &hookd.Auth{Type: hookd.AuthBearer, Token: "t\r\nInjected: yes"}
	if r := newSender(t, loopback).Send(context.Background(), d); !r.Attempt.Success {
		t.Fatalf("attempt %+v, err %v", r.Attempt, r.Err)
	}
	h := <-head
	if strings.Contains(h, "Injected") || strings.Contains(h, "Bad Name") || !strings.Contains(h, "X-Ok: fine\r\n") {
		t.Fatalf("request head:\n%s", h)
	}
}

// An answer whose head never ends fails the attempt once it passes the
// limit, long before the timeout, instead of filling memory.
func TestSendAnswerHeadTooLarge(t *testing.T) {
	t.Parallel()
	addr := rawServer(t, func(c net.Conn) {
		go io.Copy(io.Discard, c)
		io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		line := "X-Pad: " + strings.Repeat("a", 1000) + "\r\n"
		for range 5000 { // 5 MB of headers
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
		}
	})
	d := newDelivery("http://" + addr + "/")
	d.Webhook.TimeoutMS = 10000
	start := time.Now()
	r := newSender(t, loopback).Send(context.Background(), d)
	if r.Attempt.Success || r.Attempt.StatusCode != 0 || r.Err == nil || !strings.Contains(r.Err.Error(), "too large") {
		t.Fatalf("attempt %+v, err %v; want a failure for the answer's head", r.Attempt, r.Err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v, want a failure well before the 10 s timeout", el)
	}
}

// rawServer accepts one connection on a loopback port, hands it to serve
// and closes it after; it returns the address.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	return l.Addr().String()
}

// The request line carries the path and query percent-encoded where a URL
// kept a space, a control byte or raw UTF-8 (url.Parse keeps them in the
// query); what is encoded already stays as it is.
func TestRequestTarget(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://a.example", "/"},
		{"https://a.example/p/q?x=1&y=%20", "/p/q?x=1&y=%20"},
		{"https://a.example/p?q=a b", "/p?q=a%20b"},
		{"https://a.example/? ", "/?%20"},
		{"https://a.example/ä?ü=1", "/%C3%A4?%C3%BC=1"},
		{"https://a.example/a b#frag ment", "/a%20b"},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := delivery.RequestTarget(u); got != tc.want {
			t.Errorf("%s: request target %q, want %q", tc.url, got, tc.want)
		}
	}
}
