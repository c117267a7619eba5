package e2e_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
)

// walkthroughBlock finds the README's shell blocks that the walkthrough
// test runs: each ```sh block right after a "<!-- walkthrough" comment.
var walkthroughBlock = regexp.MustCompile("(?s)<!-- walkthrough[^>]*-->\n```sh\n(.*?)```")

// TestReadmeWalkthrough runs the README's walkthrough as a reader would:
// its marked blocks, word for word, in one shell, in order, against the
// binaries they build, waiting between blocks for what a reader waits for
// (the receiver to listen, the delivery to be printed), and checks that
// the event was delivered and verified, that the message shows successful
// with its attempt, that hookd listen forwarded, and that the last block
// stops everything. Only where things live is changed: the data
// directory, the binaries, hookd's address (HOOKD_ADDR, HOOKD_SERVER) and
// the receiver's port, so that runs beside each other do not meet.
func TestReadmeWalkthrough(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range walkthroughBlock.FindAllSubmatch(readme, -1) {
		blocks = append(blocks, string(m[1]))
	}
	if len(blocks) < 8 {
		t.Fatalf("the README has %d walkthrough blocks; has its walkthrough lost its markers?", len(blocks))
	}
	dir := t.TempDir()
	hookdAddr, rcvAddr := freeAddr(t), freeAddr(t)
	replacer := []string{
		"/tmp/hookd-demo", filepath.Join(dir, "hookd-demo"),
		"127.0.0.1:9000", rcvAddr,
		"bin/", filepath.Join(dir, "bin") + "/",
	}
	all := strings.Join(blocks, "\n")
	for i := 0; i < len(replacer); i += 2 {
		if !strings.Contains(all, replacer[i]) {
			t.Fatalf("the walkthrough no longer says %q: update this test with it", replacer[i])
		}
	}
	r := strings.NewReplacer(replacer...)

	sh := exec.Command("bash")
	sh.Dir = ".."
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKD_") {
			sh.Env = append(sh.Env, kv)
		}
	}
	sh.Env = append(sh.Env, "HOOKD_ADDR="+hookdAddr, "HOOKD_SERVER=http://"+hookdAddr)
	// Its own process group, so that whatever the shell started in the
	// background is killed with it if the test fails half-way.
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	sh.Stdout, sh.Stderr = out, out
	stdin, err := sh.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sh.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-sh.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
	})
	fmt.Fprintln(stdin, "set -e")

	// waitOut waits until the shell's output holds s.
	waitOut := func(what, s string, timeout time.Duration) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !strings.Contains(out.String(), s) {
			select {
			case err := <-exited:
				exited <- err
				t.Fatalf("the shell exited (%v) waiting for %s; its output:\n%s", err, what, out.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited %s for %s (%q); the output:\n%s", timeout, what, s, out.String())
			}
		}
	}
	var root *client.Client
	for i, b := range blocks {
		script := r.Replace(b)
		marker := fmt.Sprintf("__walkthrough block %d done__", i+1)
		if _, err := io.WriteString(stdin, script+"\necho '"+marker+"'\n"); err != nil {
			t.Fatal(err)
		}
		before := len(out.String())
		waitOut(fmt.Sprintf("block %d:\n%s", i+1, b), marker, 3*time.Minute) // the first builds the binaries
		blockOut := out.String()[before:]
		switch {
		case i == 0:
			root = api(t, "http://"+hookdAddr, readToken(t, filepath.Join(dir, "hookd-demo")))
		case strings.Contains(b, "bin/receiver --secret"):
			waitOut("the receiver", "receiver: listening on http://"+rcvAddr, time.Minute)
		case strings.Contains(b, "events publish --type Unit.Updated"):
			// The receiver prints the delivery it verified, and hookd
			// records it.
			waitOut("the verified delivery", " Unit.Updated msg_", time.Minute)
			waitSuccessful(t, root, "Unit.Updated")
		case strings.Contains(b, "messages list"):
			for _, want := range []string{"successful", "Unit.Updated", "scheduled", "success", "204"} {
				if !strings.Contains(blockOut, want) {
					t.Fatalf("block %d printed no %q:\n%s", i+1, want, blockOut)
				}
			}
		case strings.Contains(b, "bin/hookd listen"):
			waitOut("hookd listen", "Ready! Forwarding the events of type Lease.* of tenant acme to http://"+rcvAddr, time.Minute)
		case strings.Contains(b, "events publish --type Lease.Signed"):
			waitOut("the forwarded event, verified", " Lease.Signed evt_", time.Minute)
			waitOut("listen's line", "  Lease.Signed  evt_", time.Minute)
			if !regexp.MustCompile(`  Lease.Signed  evt_\w+  → 204 \(\d+ ms\)`).MatchString(out.String()) {
				t.Fatalf("listen's line does not say the receiver's 204:\n%s", out.String())
			}
		}
	}
	stdin.Close()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the shell: %v\n%s", err, out.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("the walkthrough's last block did not end it:\n%s", out.String())
	}
	if strings.Contains(out.String(), "refused") {
		t.Fatalf("the receiver refused a delivery:\n%s", out.String())
	}
	t.Logf("the walkthrough's output:\n%s", out.String())
}

// waitSuccessful waits until tenant acme's message of the event type is
// successful.
func waitSuccessful(t *testing.T, c *client.Client, eventType string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		p, err := c.Messages.List(ctx, "acme", &client.MessageListOptions{EventType: eventType})
		cancel()
		if err == nil && len(p.Data) == 1 && p.Data[0].State == client.StateSuccessful {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful %s message after a minute: %+v, %v", eventType, p, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
