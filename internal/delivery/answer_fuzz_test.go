package delivery

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// Whatever bytes a receiver answers with, reading them ends (no panic, no
// hang past the deadline), keeps at most MaxResponseBody bytes, and a
// connection is kept only after an answer that parsed.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nboom"))
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\nuntil the end"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, answer []byte) {
		client, server := net.Pipe()
		defer client.Close()
		go func() {
			defer server.Close()
			go io.Copy(io.Discard, server) // the request
			server.Write(answer)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		in := &budgetReader{r: client, left: -1}
		pc := &pconn{conn: client, in: in, br: bufio.NewReader(in)}
		start := time.Now()
		a, keep, err := pc.roundTrip(ctx, func(b []byte) []byte { return append(b, "POST / HTTP/1.1\r\nHost: x\r\n\r\n"...) })
		if time.Since(start) > 3*time.Second {
			t.Fatalf("read took %v", time.Since(start))
		}
		if err != nil {
			if keep || a != nil {
				t.Fatalf("failed answer (%v) with keep %v, answer %+v", err, keep, a)
			}
			return
		}
		if len(a.body) > MaxResponseBody || a.status < 100 || a.status > 999 {
			t.Fatalf("answer %d with %d bytes kept", a.status, len(a.body))
		}
	})
}
