package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/tmpfs"
)

// answer is an API answer with its headers and, for a problem, its type
// and detail.
type answer struct {
	status  int
	header  http.Header
	body    []byte
	problem struct{ Type, Detail string }
}

func call(t *testing.T, base, token, method, path string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	a.body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		_ = json.Unmarshal(a.body, &a.problem)
	}
	return a
}

// publisher publishes batches of padded events and keeps the ids of those
// accepted.
type publisher struct {
	t           *testing.T
	base, token string
	mu          sync.Mutex
	accepted    []string
}

// publish sends one batch of n events and returns the answer.
func (p *publisher) publish(n int) answer {
	p.t.Helper()
	events := make([]map[string]any, n)
	for i := range events {
		events[i] = map[string]any{"type": "Unit.Created", "payload": map[string]string{"pad": strings.Repeat("x", 2000)}}
	}
	a := call(p.t, p.base, p.token, "POST", "/v1/tenants/acme/events/batch", map[string]any{"events": events})
	if a.status == 202 {
		var out struct {
			Data []struct{ ID string } `json:"data"`
		}
		if err := json.Unmarshal(a.body, &out); err != nil {
			p.t.Fatalf("publish: %v: %s", err, a.body)
		}
		p.mu.Lock()
		for _, d := range out.Data {
			p.accepted = append(p.accepted, d.ID)
		}
		p.mu.Unlock()
	}
	return a
}

// publishUntil503 publishes until hookd answers 503 (a full disk fills
// up what room its database's WAL still had first) and returns that
// answer.
func (p *publisher) publishUntil503() answer {
	p.t.Helper()
	for range 2000 {
		switch a := p.publish(20); a.status {
		case 202:
		case 503:
			return a
		default:
			p.t.Fatalf("publish: %d %s", a.status, a.body)
		}
	}
	p.t.Fatal("hookd still accepts events")
	return answer{}
}

// wantUnavailable fails unless a is a 503 problem with Retry-After whose
// detail says what.
func wantUnavailable(t *testing.T, what string, a answer, says string) {
	t.Helper()
	if a.status != 503 || a.header.Get("Retry-After") == "" || a.problem.Type != "https://hookd.dev/errors/unavailable" ||
		!strings.Contains(a.problem.Detail, says) {
		t.Fatalf("%s: %d (Retry-After %q) %s; want 503 with Retry-After saying %q",
			what, a.status, a.header.Get("Retry-After"), a.body, says)
	}
}

// waitFor polls cond until it holds, failing with p's log after timeout.
func waitFor(t *testing.T, p *proc, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s\n%s", timeout, what, p.log.String())
		}
	}
}

// waitDelivered waits until the receiver got every accepted event.
func waitDelivered(t *testing.T, p *proc, rcv *receiver, pub *publisher) {
	t.Helper()
	waitFor(t, p, 60*time.Second, "every accepted event delivered", func() bool {
		pub.mu.Lock()
		defer pub.mu.Unlock()
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		for _, id := range pub.accepted {
			if rcv.events[id] == 0 {
				return false
			}
		}
		return true
	})
}

// waitIdle waits until hookd has recorded every message as delivered:
// none is waiting or in flight, none failed.
func waitIdle(t *testing.T, p *proc, token string) {
	t.Helper()
	waitFor(t, p, 60*time.Second, "no message left waiting", func() bool {
		a := call(t, p.base, token, "GET", "/v1/tenants/acme/messages?state=created&state=retrying&state=pending&state=failed&limit=1", nil)
		return a.status == 200 && strings.Contains(string(a.body), `"data":[]`)
	})
}

// TestFullDisk fills the filesystem of hookd's data directory (a tmpfs of
// the test's own) while hookd runs: a publish answers 503 with
// Retry-After saying the disk is full, readiness says so, what was
// accepted before stays readable; once there is room again writes succeed,
// hookd is ready again, and every accepted event is delivered.
func TestFullDisk(t *testing.T) {
	dir := tmpfs.Mount(t, 16<<20)
	addr := freeAddr(t)
	rcv, url := newReceiver(t, 0)
	p := startHookd(t, dir, addr)
	token := readToken(t, dir)
	setupTenant(t, p.base, token, url)
	pub := &publisher{t: t, base: p.base, token: token}
	for range 5 {
		if a := pub.publish(20); a.status != 202 {
			t.Fatalf("publish: %d %s", a.status, a.body)
		}
	}

	filler := tmpfs.Fill(t, dir)
	a := pub.publishUntil503()
	wantUnavailable(t, "publish on a full disk", a, "disk is full")
	wantUnavailable(t, "readyz on a full disk", call(t, p.base, "", "GET", "/readyz", nil), "disk is full")
	for _, id := range pub.accepted {
		if a := call(t, p.base, token, "GET", "/v1/tenants/acme/events/"+id, nil); a.status != 200 {
			t.Fatalf("event %s accepted before the disk was full: %d %s", id, a.status, a.body)
		}
	}
	t.Logf("%d events accepted before and while the disk filled", len(pub.accepted))

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, p, 30*time.Second, "a publish accepted with room again", func() bool { return pub.publish(1).status == 202 })
	waitFor(t, p, 60*time.Second, "ready again", func() bool {
		return call(t, p.base, "", "GET", "/readyz", nil).status == 200
	})
	waitDelivered(t, p, rcv, pub)
	waitIdle(t, p, token)
}

// TestRestartOnFullDisk kills hookd while attempts are in flight, fills
// the disk and starts it again: it starts, serves reads, answers writes
// 503 and is not ready; once there is room it releases the dead process's
// leases, and every event accepted before is delivered and recorded.
func TestRestartOnFullDisk(t *testing.T) {
	dir := tmpfs.Mount(t, 16<<20)
	addr := freeAddr(t)
	// The receiver holds every request until open is closed.
	open := make(chan struct{})
	var closeOpen sync.Once
	t.Cleanup(func() { closeOpen.Do(func() { close(open) }) })
	rcv := &receiver{events: map[string]int{}, ids: map[string]int{}}
	arrived := make(chan struct{}, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-open
		rcv.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	p := startHookd(t, dir, addr)
	token := readToken(t, dir)
	setupTenant(t, p.base, token, "http://"+ln.Addr().String()+"/hook")
	pub := &publisher{t: t, base: p.base, token: token}
	for range 3 {
		if a := pub.publish(20); a.status != 202 {
			t.Fatalf("publish: %d %s", a.status, a.body)
		}
	}
	<-arrived // attempts are in flight: their messages are leased
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done

	filler := tmpfs.Fill(t, dir)
	p = launchHookd(t, "/healthz", dir, addr)
	wantUnavailable(t, "readyz on a full disk", call(t, p.base, "", "GET", "/readyz", nil), "disk is full")
	list := call(t, p.base, token, "GET", "/v1/tenants/acme/events?limit=100", nil)
	if list.status != 200 {
		t.Fatalf("list events on a full disk: %d %s", list.status, list.body)
	}
	for _, id := range pub.accepted {
		if !strings.Contains(string(list.body), id) {
			t.Fatalf("event %s missing after restart on a full disk", id)
		}
	}
	wantUnavailable(t, "publish on a full disk", pub.publishUntil503(), "disk is full")

	closeOpen.Do(func() { close(open) })
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, p, 60*time.Second, "ready again", func() bool {
		return call(t, p.base, "", "GET", "/readyz", nil).status == 200
	})
	waitDelivered(t, p, rcv, pub)
	waitIdle(t, p, token)
}

// TestPostgresAway takes hookd's PostgreSQL away (a proxy of the test's
// own is cut; the server other tests use runs on): writes answer 503 with
// Retry-After, readiness says why; when the database is back, writes
// succeed, hookd is ready again and every accepted event is delivered.
func TestPostgresAway(t *testing.T) {
	proxy, db := pgtest.NewProxy(t, pgtest.FreshURL(t))
	dataDir, addr := t.TempDir(), freeAddr(t)
	rcv, url := newReceiver(t, 0)
	p := startHookd(t, dataDir, addr, "--db", db, "--single-node", "--encryption-key-file", keyFile(t))
	token := readToken(t, dataDir)
	setupTenant(t, p.base, token, url)
	pub := &publisher{t: t, base: p.base, token: token}
	for range 3 {
		if a := pub.publish(20); a.status != 202 {
			t.Fatalf("publish: %d %s", a.status, a.body)
		}
	}

	proxy.Cut()
	wantUnavailable(t, "publish with the database away", pub.publish(1), "database")
	wantUnavailable(t, "readyz with the database away", call(t, p.base, "", "GET", "/readyz", nil), "database")

	proxy.Restore()
	waitFor(t, p, 30*time.Second, "a publish accepted with the database back", func() bool {
		return pub.publish(1).status == 202
	})
	waitFor(t, p, 60*time.Second, "ready again", func() bool {
		return call(t, p.base, "", "GET", "/readyz", nil).status == 200
	})
	waitDelivered(t, p, rcv, pub)
	waitIdle(t, p, token)
	if n := strings.Count(p.log.String(), "store unavailable"); n == 0 {
		t.Errorf("the 503s were not logged:\n%s", p.log.String())
	}
}
