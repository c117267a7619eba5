package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/hookdtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// lockedBuffer is the receiver's stdout, read while it writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the receiver with args on a free loopback port until the
// test ends, and returns its URL and output.
func start(t *testing.T, args ...string) (string, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	ready := make(chan string, 1)
	code := make(chan int, 1)
	go func() { code <- run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), out, errOut, ready) }()
	t.Cleanup(func() {
		cancel()
		if c := <-code; c != 0 {
			t.Errorf("receiver exited %d: %s", c, errOut)
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr + "/hook", out
	case c := <-code:
		t.Fatalf("receiver exited %d: %s", c, errOut)
	}
	return "", nil
}

// TestReceiverVerifiesRealDeliveries: the receiver prints a delivery of
// hookd's engine signed with its secret, and refuses (401) one signed
// with another, which hookd records.
func TestReceiverVerifiesRealDeliveries(t *testing.T) {
	t.Parallel()
	srv := hookdtest.Start(t, hookdtest.Options{})
	c, err := client.New(srv.URL, client.WithToken(hookdtest.RootToken))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := c.Tenants.Create(ctx, &client.TenantInput{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_c2VjcmV0IG9mIHRoZSBleGFtcGxlIHJlY2VpdmVy"
	url, out := start(t, "--secret", secret)
	good, err := c.Webhooks.Create(ctx, "acme", &client.WebhookInput{Name: "good", URL: url, EventTypes: []string{"Unit.*"}, Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := c.Webhooks.Create(ctx, "acme", &client.WebhookInput{Name: "bad", URL: url + "?other", EventTypes: []string{"Unit.*"}, MaxRetries: client.Ptr(0)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Events.Publish(ctx, "acme", &client.EventInput{Type: "Unit.Updated", Payload: map[string]int{"id": 17}, Group: "property-12"})
	if err != nil {
		t.Fatal(err)
	}
	state := func(webhookID string) *client.Message {
		p, err := c.Messages.List(ctx, "acme", &client.MessageListOptions{EventID: res.ID, WebhookID: webhookID})
		if err != nil || len(p.Data) != 1 {
			t.Fatalf("messages: %+v, %v", p, err)
		}
		return &p.Data[0]
	}
	deadline := time.Now().Add(30 * time.Second)
	for state(good.ID).State != client.StateSuccessful || state(bad.ID).State != client.StateFailed {
		if time.Now().After(deadline) {
			t.Fatalf("good %+v, bad %+v; receiver said:\n%s", state(good.ID), state(bad.ID), out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if m := state(bad.ID); m.LastStatusCode != 401 {
		t.Fatalf("the delivery with another secret: %+v, want 401", m)
	}
	want := "Unit.Updated " + state(good.ID).ID + " event " + res.ID + " tenant acme group property-12: {\"id\":17}\n"
	if s := out.String(); !strings.Contains(s, want) || !strings.Contains(s, "refused 401: verify: no signature matches") {
		t.Fatalf("receiver said:\n%s\nwant a line ending %q and a refusal", s, want)
	}
}

func TestReceiverFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{nil, 2, "--secret is required"},
		{[]string{"--secret", "whsec_!!"}, 2, "whsec_ must be followed by"},
		{[]string{"--help"}, 0, "usage: receiver"},
	} {
		var out, errOut lockedBuffer
		if code := run(context.Background(), tc.args, &out, &errOut, nil); code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.says) {
			t.Errorf("%q: exit %d, %s%s; want %d saying %q", tc.args, code, &out, &errOut, tc.code, tc.says)
		}
	}
}
