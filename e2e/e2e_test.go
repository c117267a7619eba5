// Package e2e drives the real hookd binary as a black box: built once, run
// as a child process on loopback, killed with SIGKILL or stopped with
// SIGTERM, and restarted on the same data.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/postgres/pgtest"
	"github.com/hookd/hookd/internal/seal"
)

var hookdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hookdBin = filepath.Join(dir, "hookd")
	build := exec.Command("go", "build", "-o", hookdBin, "../cmd/hookd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hookd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running hookd.
type proc struct {
	cmd  *exec.Cmd
	base string
	log  *syncBuffer
	done chan struct{} // closed when the process has exited; err is then set
	err  error
}

// syncBuffer is a bytes.Buffer safe for the process's writes and our reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startHookd runs hookd on dataDir and waits until it is ready.
func startHookd(t *testing.T, dataDir, addr string, extra ...string) *proc {
	t.Helper()
	return launchHookd(t, "/readyz", dataDir, addr, extra...)
}

// launchHookd runs hookd on dataDir and waits until the GET of path (/readyz,
// or /healthz for a hookd that is up but not ready) answers 200.
func launchHookd(t *testing.T, path, dataDir, addr string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--addr", addr, "--data-dir", dataDir, "--dev", "--retry-schedule", "100ms,200ms",
		"--log-level", "warn"}, extra...)
	cmd := exec.Command(hookdBin, args...)
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, base: "http://" + addr, log: log, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.base + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("hookd exited early: %v\n%s", p.err, log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("hookd: no 200 from %s after 20s:\n%s", path, log.String())
	return nil
}

// api returns a client of the hookd at base with the token. It does not
// retry, so that every answer counts as the server gave it: a publish that
// fails while hookd is killed is not accepted.
func api(t *testing.T, base, token string) *client.Client {
	t.Helper()
	c, err := client.New(base, client.WithToken(token), client.WithRetryPolicy(client.RetryPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// receiver records the event ids it was sent and each webhook-id's count.
type receiver struct {
	mu     sync.Mutex
	events map[string]int
	ids    map[string]int
	delay  time.Duration
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body struct {
		EventID string `json:"event_id"`
	}
	_ = json.NewDecoder(req.Body).Decode(&body)
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	r.mu.Lock()
	r.events[body.EventID]++
	r.ids[req.Header.Get("webhook-id")]++
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// orderReceiver checks that each group's events arrive in publish order: a
// sequence number may repeat (at-least-once redelivery) but never go back.
type orderReceiver struct {
	mu         sync.Mutex
	last       map[string]int
	seen       map[int]bool
	violations []string
}

func (r *orderReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Group string `json:"group"`
		Data  struct {
			Seq int `json:"seq"`
		} `json:"data"`
	}
	_ = json.NewDecoder(req.Body).Decode(&body)
	r.mu.Lock()
	if last, ok := r.last[body.Group]; ok && body.Data.Seq < last {
		r.violations = append(r.violations, fmt.Sprintf("group %s: seq %d after %d", body.Group, body.Data.Seq, last))
	} else {
		r.last[body.Group] = body.Data.Seq
	}
	r.seen[body.Data.Seq] = true
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// groupedWebhook starts an orderReceiver and registers it on tenant acme
// as a grouped webhook for Unit.* events.
func groupedWebhook(t *testing.T, base, token string) *orderReceiver {
	t.Helper()
	ord := &orderReceiver{last: map[string]int{}, seen: map[int]bool{}}
	srv := &http.Server{Handler: ord}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	grouped := &client.WebhookInput{Name: "grouped", URL: "http://" + ln.Addr().String() + "/ordered",
		EventTypes: []string{"Unit.*"}, Grouped: true}
	if _, err := api(t, base, token).Webhooks.Create(t.Context(), "acme", grouped); err != nil {
		t.Fatalf("create grouped webhook: %v", err)
	}
	return ord
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func newReceiver(t *testing.T, delay time.Duration) (*receiver, string) {
	t.Helper()
	r := &receiver{events: map[string]int{}, ids: map[string]int{}, delay: delay}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r, "http://" + ln.Addr().String() + "/hook"
}

func readToken(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "root-token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func setupTenant(t *testing.T, base, token, url string) {
	t.Helper()
	c := api(t, base, token)
	if _, err := c.Tenants.Create(t.Context(), &client.TenantInput{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	if _, err := c.Webhooks.Create(t.Context(), "acme", &client.WebhookInput{Name: "all", URL: url, EventTypes: []string{"*"}}); err != nil {
		t.Fatalf("create webhook: %v", err)
	}
}

// TestKill9LosesNothing publishes thousands of events while hookd delivers
// them, kills it with SIGKILL in the middle, restarts it on the same data and
// checks that every event answered with 202 reaches the receiver: on the
// embedded store and on PostgreSQL (with --single-node, so that the restart
// takes over the dead process's leases at once).
func TestKill9LosesNothing(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testKill9(t) })
	t.Run("postgres", func(t *testing.T) {
		testKill9(t, "--db", pgtest.FreshURL(t), "--single-node", "--encryption-key-file", keyFile(t))
	})
}

// keyFile returns a new encryption key file, for PostgreSQL nodes, which
// must be given one (the same for every node).
func keyFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "encryption-key")
	if _, err := seal.CreateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func testKill9(t *testing.T, store ...string) {
	const total = 3000
	dataDir, addr := t.TempDir(), freeAddr(t)
	rcv, url := newReceiver(t, time.Millisecond)
	p := startHookd(t, dataDir, addr, store...)
	token := readToken(t, dataDir)
	setupTenant(t, p.base, token, url)
	// A second, grouped webhook checks order across the kill and restart.
	ord := groupedWebhook(t, p.base, token)

	var mu sync.Mutex
	accepted := map[string]bool{}
	acceptedSeq := map[int]bool{}
	seq := 0 // publish order; one publisher at a time
	publish := func(n, batch int) {
		for sent := 0; sent < n; sent += batch {
			events := make([]client.EventInput, batch)
			first := seq
			for i := range events {
				events[i] = client.EventInput{Type: "Unit.Updated", Group: fmt.Sprintf("g%d", seq%20),
					Payload: map[string]int{"seq": seq}}
				seq++
			}
			if res, err := api(t, p.base, token).Events.PublishBatch(t.Context(), "acme", events); err == nil {
				mu.Lock()
				for i, d := range res {
					accepted[d.ID] = true
					acceptedSeq[first+i] = true
				}
				mu.Unlock()
			}
		}
	}
	publish(total/2, 50)
	// Publish the rest while delivery runs; kill in the middle of both.
	pubDone := make(chan struct{})
	go func() { defer close(pubDone); publish(total/2, 25) }()
	acceptedNow := func() int { mu.Lock(); defer mu.Unlock(); return len(accepted) }
	for deadline := time.Now().Add(30 * time.Second); rcv.count() < total/4 || acceptedNow() < total/2+100; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d delivered before the kill\n%s", rcv.count(), p.log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	<-pubDone
	before := rcv.count()
	mu.Lock()
	want := len(accepted)
	mu.Unlock()
	if want < total/2 {
		t.Fatalf("only %d events accepted", want)
	}
	t.Logf("killed after %d of %d accepted events were delivered", before, want)

	p = startHookd(t, dataDir, addr, store...)
	deadline := time.Now().Add(30 * time.Second) // shorter than a lease (60 s)
	for {
		missing := 0
		rcv.mu.Lock()
		mu.Lock()
		for id := range accepted {
			if rcv.events[id] == 0 {
				missing++
			}
		}
		mu.Unlock()
		rcv.mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events never delivered after restart\n%s", missing, want, p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And hookd knows it: no message is left waiting. Messages that were in
	// flight at the kill are released at start-up, not after their lease.
	for {
		waiting, err := api(t, p.base, token).Messages.List(t.Context(), "acme", &client.MessageListOptions{
			States:      []client.MessageState{client.StateCreated, client.StateRetrying, client.StatePending},
			ListOptions: client.ListOptions{Limit: 5}})
		if err == nil && len(waiting.Data) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages still waiting after restart: %+v, %v", waiting, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ord.mu.Lock()
	for sq := range acceptedSeq {
		if !ord.seen[sq] {
			t.Errorf("grouped webhook never got seq %d", sq)
		}
	}
	for _, v := range ord.violations {
		t.Errorf("order violated: %s", v)
	}
	ord.mu.Unlock()
}

// TestSIGTERMDrains stops hookd with SIGTERM while attempts are in flight to
// a slow receiver: it must exit cleanly after finishing and recording them,
// so that a restart delivers nothing twice.
func TestSIGTERMDrains(t *testing.T) {
	dataDir, addr := t.TempDir(), freeAddr(t)
	rcv, url := newReceiver(t, 300*time.Millisecond)
	p := startHookd(t, dataDir, addr, "--workers", "8")
	token := readToken(t, dataDir)
	setupTenant(t, p.base, token, url)
	events := make([]client.EventInput, 40)
	for i := range events {
		events[i] = client.EventInput{Type: "Unit.Created", Payload: i}
	}
	if _, err := api(t, p.base, token).Events.PublishBatch(t.Context(), "acme", events); err != nil {
		t.Fatalf("publish: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // attempts are now in flight
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("hookd exit after SIGTERM: %v\n%s", p.err, p.log.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("hookd did not exit 20s after SIGTERM\n%s", p.log.String())
	}
	if rcv.count() == 0 {
		t.Fatal("nothing was delivered before shutdown")
	}
	startHookd(t, dataDir, addr, "--workers", "8") // stopped when t ends
	for deadline := time.Now().Add(30 * time.Second); rcv.count() < len(events); {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d delivered after restart", rcv.count(), len(events))
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for id, n := range rcv.ids {
		if n > 1 {
			t.Errorf("message %s delivered %d times: an attempt finished during the drain was not recorded", id, n)
		}
	}
}

// TestTwoNodesShareOnePostgres runs two hookd processes on one PostgreSQL
// database, publishes to both at once, and checks that every event is
// delivered exactly once (the nodes never claim the same message) and
// that groups published through either node arrive in order.
func TestTwoNodesShareOnePostgres(t *testing.T) {
	db := pgtest.FreshURL(t)
	const token = "e2e-root-token-shared-by-both-nodes-0123456789"
	store := []string{"--db", db, "--root-token", token, "--encryption-key-file", keyFile(t)}
	rcv, url := newReceiver(t, 0)
	a := startHookd(t, t.TempDir(), freeAddr(t), store...)
	b := startHookd(t, t.TempDir(), freeAddr(t), store...)
	setupTenant(t, a.base, token, url)
	ord := groupedWebhook(t, b.base, token) // created through the other node

	const perNode, batch = 500, 25
	var mu sync.Mutex
	accepted := map[string]bool{}
	var wg sync.WaitGroup
	for n, p := range []*proc{a, b} {
		wg.Go(func() {
			// Each node gets groups of its own, published in order.
			for sent := 0; sent < perNode; sent += batch {
				events := make([]client.EventInput, batch)
				for i := range events {
					seq := n*perNode + sent + i
					events[i] = client.EventInput{Type: "Unit.Updated", Group: fmt.Sprintf("n%d-g%d", n, seq%10),
						Payload: map[string]int{"seq": seq}}
				}
				res, err := api(t, p.base, token).Events.PublishBatch(t.Context(), "acme", events)
				if err != nil {
					t.Errorf("publish to node %d: %v", n, err)
					return
				}
				mu.Lock()
				for _, d := range res {
					accepted[d.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(accepted) != 2*perNode {
		t.Fatalf("%d events accepted, want %d", len(accepted), 2*perNode)
	}
	waitUntil := time.Now().Add(60 * time.Second)
	for {
		ord.mu.Lock()
		seen := len(ord.seen)
		ord.mu.Unlock()
		if rcv.count() == len(accepted) && seen == len(accepted) {
			break
		}
		if time.Now().After(waitUntil) {
			t.Fatalf("delivered %d and %d (grouped) of %d\nnode a:\n%s\nnode b:\n%s", rcv.count(), seen, len(accepted),
				a.log.String(), b.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now
	rcv.mu.Lock()
	for id := range accepted {
		if n := rcv.events[id]; n != 1 {
			t.Errorf("event %s delivered %d times, want once", id, n)
		}
	}
	rcv.mu.Unlock()
	ord.mu.Lock()
	for _, v := range ord.violations {
		t.Errorf("order violated: %s", v)
	}
	ord.mu.Unlock()
}

// TestThreeNodesOneKilled runs three hookd processes on one PostgreSQL
// database, publishes to all of them while they deliver, and kills one
// with SIGKILL in the middle. Every event accepted (by any node, the dead
// one too) must reach the receiver, the grouped webhook must get every
// group in order (groups of each node's own, and groups published through
// two nodes in turn), and the messages the dead node held must be taken
// over by the others within bounded time: when their lease ends (the
// longest webhook timeout plus the margin, 60 s) and the next claim sees
// them due.
func TestThreeNodesOneKilled(t *testing.T) {
	db := pgtest.FreshURL(t)
	const token = "e2e-root-token-shared-by-three-nodes-012345678"
	store := []string{"--db", db, "--root-token", token, "--encryption-key-file", keyFile(t)}
	rcv, url := newReceiver(t, 2*time.Millisecond) // attempts take a moment: some are in flight at the kill
	var nodes []*proc
	for range 3 {
		nodes = append(nodes, startHookd(t, t.TempDir(), freeAddr(t), store...))
	}
	setupTenant(t, nodes[0].base, token, url)
	ord := groupedWebhook(t, nodes[1].base, token)

	var mu sync.Mutex
	accepted := map[string]bool{}
	acceptedSeq := map[int]bool{}
	var seqs sync.Mutex
	next := 0
	// publish sends one batch of 20 through node n: groups named by
	// group(i) for the batch's i-th event, and records what was accepted.
	publish := func(n int, group func(i int) string) bool {
		seqs.Lock()
		first := next
		next += 20
		seqs.Unlock()
		events := make([]client.EventInput, 20)
		for i := range events {
			events[i] = client.EventInput{Type: "Unit.Updated", Group: group(i), Payload: map[string]int{"seq": first + i}}
		}
		res, err := api(t, nodes[n].base, token).Events.PublishBatch(context.Background(), "acme", events)
		if err != nil {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		for i, d := range res {
			accepted[d.ID] = true
			acceptedSeq[first+i] = true
		}
		return true
	}
	stop := make(chan struct{})
	var killing atomic.Bool // node 2 is being killed: its publishes may fail
	var wg sync.WaitGroup
	for n := range nodes {
		// Node n's own groups, published through it, in order.
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !publish(n, func(i int) string { return fmt.Sprintf("n%d-g%d", n, i%8) }) {
					// The node being killed: its groups end here. (Its
					// process may not be reaped yet when the request fails.)
					if n != 2 || !killing.Load() {
						t.Errorf("publish to node %d failed", n)
					}
					return
				}
			}
		})
	}
	// Groups published through the two nodes that live, in turn: each
	// batch waits for the one before, through the other node.
	wg.Go(func() {
		for b := 0; ; b++ {
			select {
			case <-stop:
				return
			default:
			}
			if !publish(b%2, func(i int) string { return fmt.Sprintf("x-g%d", i%4) }) {
				t.Errorf("publish to node %d failed", b%2)
				return
			}
		}
	})
	acceptedNow := func() int { mu.Lock(); defer mu.Unlock(); return len(accepted) }
	for deadline := time.Now().Add(60 * time.Second); rcv.count() < 500 || acceptedNow() < 1000; {
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("only %d of %d accepted delivered before the kill", rcv.count(), acceptedNow())
		}
		time.Sleep(5 * time.Millisecond)
	}
	killing.Store(true)
	if err := nodes[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-nodes[2].done
	time.Sleep(time.Second) // the others publish and deliver on
	close(stop)
	wg.Wait()
	want := acceptedNow()
	t.Logf("killed node 2 with %d of %d accepted events delivered", rcv.count(), want)

	// The dead node's leases end 60 s after it last claimed; the others
	// claim its messages when they next look (within their poll interval,
	// 5 s). Allow that, and as much again for a loaded machine.
	const lease, takeOver = 60 * time.Second, 60 * time.Second
	deadline := killed.Add(lease + takeOver)
	var missing int
	for {
		missing = 0
		rcv.mu.Lock()
		mu.Lock()
		for id := range accepted {
			if rcv.events[id] == 0 {
				missing++
			}
		}
		mu.Unlock()
		rcv.mu.Unlock()
		ord.mu.Lock()
		seen := 0
		for sq := range acceptedSeq {
			if ord.seen[sq] {
				seen++
			}
		}
		ord.mu.Unlock()
		if missing == 0 && seen == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events never delivered, %d of them in order, %s after the kill\nnode 0:\n%s\nnode 1:\n%s",
				missing, want, want-seen, time.Since(killed).Round(time.Second), nodes[0].log.String(), nodes[1].log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("every accepted event delivered %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	// No message is left waiting: the dead node's leases were taken over.
	for {
		waiting, err := api(t, nodes[0].base, token).Messages.List(t.Context(), "acme", &client.MessageListOptions{
			States:      []client.MessageState{client.StateCreated, client.StateRetrying, client.StatePending},
			ListOptions: client.ListOptions{Limit: 5}})
		if err == nil && len(waiting.Data) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages still waiting: %+v, %v", waiting, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ord.mu.Lock()
	for _, v := range ord.violations {
		t.Errorf("order violated: %s", v)
	}
	ord.mu.Unlock()
}
