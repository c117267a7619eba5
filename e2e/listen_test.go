package e2e_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/verify"
)

// TestListenAcrossRestart: hookd listen, the real binary, forwards a
// tenant's events to a loopback receiver that verifies each signature;
// when hookd stops (SIGTERM) it says so, connects again once hookd is
// back on the same data, and goes on forwarding, without sending an
// event twice. hookd runs without --dev's private-target permission
// mattering: listen dials the receiver, hookd never does.
func TestListenAcrossRestart(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	p := startHookd(t, dir, addr)
	root := api(t, p.base, readToken(t, dir))
	if _, err := root.Tenants.Create(t.Context(), &client.TenantInput{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	key, err := root.Keys.Create(t.Context(), "acme", &client.KeyInput{Scopes: []client.Scope{client.ScopeEventsRead}})
	if err != nil {
		t.Fatal(err)
	}

	const secret = "whsec_c2VjcmV0IG9mIHRoZSBsaXN0ZW4gZTJlIHRlc3Q="
	v, err := verify.New(secret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]int{} // event id → verified deliveries
	bad := 0
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		env, err := v.Parse(r.Header, body)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got[env.EventID]++
		w.WriteHeader(http.StatusNoContent)
	})}
	go rs.Serve(ln)
	t.Cleanup(func() { rs.Close() })
	count := func(id string) int {
		mu.Lock()
		defer mu.Unlock()
		return got[id]
	}

	listen := exec.Command(hookdBin, "listen", "--forward-to", "http://"+ln.Addr().String()+"/hook",
		"--events", "Unit.*", "--secret", secret)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKD_") {
			listen.Env = append(listen.Env, kv)
		}
	}
	listen.Env = append(listen.Env, "HOOKD_SERVER="+p.base, "HOOKD_TOKEN="+key.Token)
	out := &syncBuffer{}
	listen.Stdout, listen.Stderr = out, out
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	listenDone := make(chan error, 1)
	go func() { listenDone <- listen.Wait() }()
	t.Cleanup(func() {
		_ = listen.Process.Kill()
		<-listenDone
	})
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("waited a minute for %s; listen's output:\n%s", what, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	has := func(s string) func() bool { return func() bool { return strings.Contains(out.String(), s) } }
	waitFor("listen to be ready", has("Ready! Forwarding the events of type Unit.* of tenant acme"))

	publisher := api(t, p.base, readToken(t, dir))
	publish := func(typ string) string {
		t.Helper()
		res, err := publisher.Events.Publish(t.Context(), "acme", &client.EventInput{Type: typ, Payload: map[string]int{"n": 1}})
		if err != nil {
			t.Fatal(err)
		}
		return res.ID
	}
	skipped := publish("Lease.Signed")
	first := publish("Unit.Updated")
	waitFor("the first event, verified", func() bool { return count(first) == 1 })
	waitFor("listen's line for it", has("Unit.Updated  "+first+"  → 204 ("))

	// hookd stops: listen loses the stream and keeps trying.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	waitFor("listen to notice", has("Lost the stream"))
	waitFor("listen to try again", func() bool { return strings.Count(out.String(), "Lost the stream") >= 2 })

	p = startHookd(t, dir, addr)
	waitFor("listen to connect again", has("Connected again"))
	publisher = api(t, p.base, readToken(t, dir))
	second := publish("Unit.Created")
	waitFor("the second event, verified", func() bool { return count(second) == 1 })
	waitFor("listen's line for it", has("Unit.Created  "+second+"  → 204 ("))

	if err := listen.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-listenDone:
		listenDone <- err
		if err != nil {
			t.Fatalf("listen ended with %v after Ctrl-C:\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("listen did not stop on SIGINT")
	}
	mu.Lock()
	defer mu.Unlock()
	if bad != 0 || got[first] != 1 || got[second] != 1 || got[skipped] != 0 || len(got) != 2 {
		t.Fatalf("verified deliveries %v, %d refused; want %s and %s once each", got, bad, first, second)
	}
}
