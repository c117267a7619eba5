package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func testConfig(t *testing.T, args ...string) *serveConfig {
	t.Helper()
	cfg, err := parseServeConfig(append([]string{"--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"}, args...),
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// lockedLog is a log destination safe for concurrent writes and reads.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedLog) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// A debug address already taken fails the start before anything runs:
// nothing is left behind, and nothing (an engine, a sweeper) found the
// store closed under it.
func TestDebugListenerTaken(t *testing.T) {
	running := goleak.IgnoreCurrent()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(t, "--debug-addr", taken.Addr().String())
	ready := make(chan string, 1)
	logs := &lockedLog{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	err = runServer(context.Background(), cfg, logger, io.Discard, ready)
	if err == nil || !strings.Contains(err.Error(), "debug listener") {
		t.Fatalf("runServer = %v, want a debug listener error", err)
	}
	if len(ready) > 0 {
		t.Error("hookd said it was ready")
	}
	goleak.VerifyNone(t, running) // and waits for what was left running, which would log
	if strings.Contains(logs.String(), "level=ERROR") || strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("errors logged:\n%s", logs)
	}
}

// hookd stops when its context ends, leaving nothing running.
func TestServeStops(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := testConfig(t, "--debug-addr", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, slog.New(slog.DiscardHandler), io.Discard, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("runServer: %v", err)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("readyz: %d", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServer: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("runServer did not return 30 s after its context ended")
	}
}
