// Package hookdtest runs a whole hookd inside a test's process: the REST
// API on a loopback port, a fresh SQLite store in the test's temporary
// directory and the real delivery engine, wired as cmd/hookd wires them, but
// allowing http:// and loopback targets (as --dev does) so that a test's
// receiver on 127.0.0.1 gets real, signed deliveries. Everything stops when
// the test ends, and no goroutine is left behind.
//
// Webhook secrets are sealed under a random master key, as in production.
//
// It is the one helper for tests that need a running hookd without
// building the binary (the client's, the receiver library's, the CLI's);
// e2e/ drives the built binary when a test needs a process to kill.
package hookdtest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/httpapi"
	"github.com/hookd/hookd/internal/metrics"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/seal"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/sqlstore"
)

// RootToken is the root token of every Server.
const RootToken = "hk_root-token-for-tests"

// Options change a Server; the zero value is a usable hookd.
type Options struct {
	// RetrySchedule is the server's default retry schedule (nil: 100ms,
	// 200ms, so that a test sees retries without waiting minutes).
	RetrySchedule []time.Duration
	// MaxPayloadBytes is --max-payload-bytes (0: the server's default).
	MaxPayloadBytes int
	// RateLimit and RateBurst are --rate-limit and --rate-burst (0: off).
	RateLimit float64
	RateBurst int
	// Now is the clock of the API and the engine (nil: time.Now).
	Now func() time.Time
	// NoEngine leaves the delivery engine out: nothing is delivered and the
	// test endpoint answers 503, as on a server without one.
	NoEngine bool
}

// Server is a running hookd.
type Server struct {
	// URL is the API's base URL, http://127.0.0.1:<port>.
	URL string
	// Store is the server's SQLite store, for looking behind the API.
	Store *sqlite.DB
	// API is the HTTP API as served.
	API *httpapi.Server
	// Engine is the delivery engine (nil with Options.NoEngine).
	Engine *delivery.Dispatcher
	// Metrics is the registry served at /metrics.
	Metrics *metrics.Registry
}

// Start starts a hookd with opts and stops it when tb ends: the API stops
// taking requests, the engine finishes the attempts in flight, and the
// store is closed.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	ctx := context.Background()
	// Secrets are sealed at rest under a master key, as hookd serve does.
	key, _ := seal.NewRandomKey()
	keys, err := seal.NewKeyring(key)
	if err != nil {
		tb.Fatalf("hookdtest: keyring: %v", err)
	}
	store, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "hookd.db"), sqlstore.WithKeys(keys))
	if err != nil {
		tb.Fatalf("hookdtest: open store: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(logWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sched := opts.RetrySchedule
	if sched == nil {
		sched = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}
	}
	reg := metrics.NewRegistry()
	policy := &netguard.Policy{AllowHTTP: true, AllowPrivate: true}
	s := &Server{Store: store, Metrics: reg}
	s.API = &httpapi.Server{
		Store:           store,
		Targets:         policy,
		RootTokenHash:   hookd.HashToken(RootToken),
		MaxPayloadBytes: opts.MaxPayloadBytes,
		Logger:          logger,
		Now:             opts.Now,
		Metrics:         reg,
		RateLimit:       opts.RateLimit,
		RateBurst:       opts.RateBurst,
	}
	engineDone := make(chan error, 1)
	engineCtx, stopEngine := context.WithCancel(ctx)
	if opts.NoEngine {
		engineDone <- nil
	} else {
		s.Engine = delivery.New(delivery.Config{
			Store:         store,
			Policy:        policy,
			Workers:       8,
			RetrySchedule: sched,
			Now:           opts.Now,
			Logger:        logger,
			Metrics:       reg,
		})
		s.API.Deliverer = s.Engine
		go func() { engineDone <- s.Engine.Run(engineCtx) }()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stopEngine()
		<-engineDone
		store.Close()
		tb.Fatalf("hookdtest: listen: %v", err)
	}
	srv := &http.Server{Handler: s.API.Handler(), ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(s.API.CloseStreams)
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	s.URL = "http://" + ln.Addr().String()
	tb.Cleanup(func() {
		shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutCtx); err != nil {
			srv.Close()
		}
		<-served
		if s.Engine != nil {
			if err := s.Engine.Drain(shutCtx); err != nil {
				tb.Errorf("hookdtest: drain the engine: %v", err)
			}
		}
		stopEngine()
		if err := <-engineDone; err != nil {
			tb.Errorf("hookdtest: delivery engine: %v", err)
		}
		if err := store.Close(); err != nil {
			tb.Errorf("hookdtest: close store: %v", err)
		}
	})
	return s
}

// logWriter passes the server's warnings and errors to the test's log, so
// that a failing test shows what the server saw.
type logWriter struct{ tb testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.tb.Log("hookd: " + string(p))
	return len(p), nil
}
