package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/dialect"
	"github.com/hookd/hookd/internal/httpapi"
	"github.com/hookd/hookd/internal/metrics"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/seal"
	"github.com/hookd/hookd/internal/sqlite"
	"github.com/hookd/hookd/internal/sqlstore"
	"github.com/hookd/hookd/internal/ui"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseServeConfig(args, os.Getenv, stdout)
	if errors.Is(err, flagHelp) {
		return 0
	} else if err != nil {
		fmt.Fprintf(stderr, "hookd serve: %v\nRun 'hookd serve --help' for the flags.\n", err)
		return 2
	}
	logger := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := runServer(ctx, cfg, logger, stdout, nil); err != nil {
		logger.Error("hookd stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg *serveConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the store named by a --db URL, sealing webhook secrets
// under keys.
func openStore(ctx context.Context, dbURL string, keys *seal.Keyring) (hookd.Store, error) {
	switch {
	case strings.HasPrefix(dbURL, "sqlite://"):
		path := strings.TrimPrefix(dbURL, "sqlite://")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create store directory: %w", err)
		}
		return sqlite.Open(ctx, path, sqlstore.WithKeys(keys))
	case isPostgres(dbURL):
		return postgres.Open(ctx, dbURL, sqlstore.WithKeys(keys))
	default:
		return nil, fmt.Errorf("--db %q: want sqlite://<path> or postgres://…", redactDB(dbURL))
	}
}

// rootToken returns the configured root token, or the one kept in
// <data-dir>/root-token, or generates one there (mode 0600) and reports it
// as new so that it is printed once.
func rootToken(cfg *serveConfig) (token string, generated bool, err error) {
	if cfg.RootToken != "" {
		return cfg.RootToken, false, nil
	}
	path := filepath.Join(cfg.DataDir, "root-token")
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, false, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read root token: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("create data dir: %w", err)
	}
	token = hookd.NewToken()
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("write root token: %w", err)
	}
	return token, true, nil
}

// runServer runs hookd until ctx ends, then shuts down gracefully: stop
// accepting requests, finish in-flight requests, stop claiming, drain
// in-flight attempts, stop the sweeper, close the store. ready, if non-nil,
// receives the listening address.
//
// Everything that can fail is opened before anything starts (the store,
// both listeners), so that a failure leaves nothing running; and whatever
// ends the run (ctx, the API server or the engine failing) goes down the
// same path.
func runServer(ctx context.Context, cfg *serveConfig, logger *slog.Logger, stdout io.Writer, ready chan<- string) error {
	if cfg.Dev {
		logger.Warn("development mode: http:// and private-network targets are allowed; never run --dev in production")
	}
	token, generated, err := rootToken(cfg)
	if err != nil {
		return err
	}
	keys, genKey, err := loadKeys(keySource{DB: cfg.DB, DataDir: cfg.DataDir, Current: cfg.EncryptionKeyFile,
		Previous: cfg.PreviousKeyFile, Generate: true})
	if err != nil {
		return err
	}
	warnOpenKeyFiles(logger, cfg.EncryptionKeyFile, cfg.PreviousKeyFile)
	store, err := openStore(ctx, cfg.DB, keys)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()
	// One process owns an embedded store (and a PostgreSQL one with
	// --single-node): whatever is still leased was in flight when the last
	// process died, so it is due now, not when its lease would have run
	// out. Processes sharing a PostgreSQL store leave each other's leases
	// to run out. A store that cannot take the write now (a full disk)
	// does not stop hookd: it serves reads, answers writes 503, and the
	// leases are released, and delivery starts, once it can (see
	// releaseLeases).
	release := strings.HasPrefix(cfg.DB, "sqlite://") || cfg.SingleNode
	if release {
		switch err := store.ReleaseLeases(ctx, time.Now()); {
		case err == nil:
			release = false
		case hookd.ErrorCode(err) == hookd.EUNAVAILABLE:
			logger.Warn("cannot release the leases of the last run yet; delivery starts once the store takes writes",
				"err", err)
		default:
			return fmt.Errorf("release leases: %w", err)
		}
	}

	reg := metrics.NewRegistry()
	policy := &netguard.Policy{AllowHTTP: cfg.AllowHTTP, AllowPrivate: cfg.AllowPrivateTargets}
	disp := delivery.New(delivery.Config{
		Store:         store,
		Policy:        policy,
		Workers:       cfg.Workers,
		MaxInFlight:   cfg.MaxInFlight,
		RetrySchedule: cfg.RetrySchedule,
		Logger:        logger,
		Metrics:       reg,

		MetricsPerTenant: cfg.MetricsPerTenant,
	})
	delivery.RegisterQueueGauges(reg, store, 0, nil, logger)
	delivery.ReportOperationalEvents(store, logger, reg)
	api := &httpapi.Server{
		Store:            store,
		Targets:          policy,
		RootTokenHash:    hookd.HashToken(token),
		Deliverer:        disp,
		MaxPayloadBytes:  cfg.MaxPayloadBytes,
		Logger:           logger,
		Metrics:          reg,
		RateLimit:        cfg.RateLimit,
		RateBurst:        cfg.RateBurst,
		PublicURL:        cfg.PublicURL,
		PortalSessionTTL: cfg.UISessionTTL,
		MetricsPerTenant: cfg.MetricsPerTenant,
	}
	api.Mounts = dialectMounts(cfg.Dialects, dialect.Env{Store: store, AllowHTTP: policy.AllowHTTP, Host: api,
		Deliverer: disp, Logger: logger})
	if st, ok := store.(ui.Store); ok {
		dash := &ui.Server{Store: st, Targets: policy, RootTokenHash: api.RootTokenHash, Deliverer: disp, Dev: cfg.Dev,
			FrameAncestors: cfg.UIFrameAncestors, SessionTTL: cfg.UISessionTTL, MaxPayloadBytes: cfg.MaxPayloadBytes, Logger: logger,
			PublicURL: cfg.PublicURL}
		api.UI = dash.Handler()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var dbgLn net.Listener
	if cfg.DebugAddr != "" {
		if dbgLn, err = net.Listen("tcp", cfg.DebugAddr); err != nil {
			ln.Close()
			return fmt.Errorf("debug listener: %w", err)
		}
	}

	// Nothing can fail any more: start.
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	srv.RegisterOnShutdown(api.CloseStreams) // a stream is never idle: end it, the client resumes elsewhere
	// The engine runs on its own context: it stops claiming when the run
	// ends, but only after the API has stopped taking new work.
	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	// stopping ends when the run does, before the engine is drained.
	stopping, stop := context.WithCancel(context.Background())
	defer stop()
	engineDone := make(chan error, 1)
	go func() {
		// The engine waits for the leases to be released: released later,
		// they would include its own, and their messages would go out
		// twice.
		if release && !releaseLeases(stopping, store, logger) {
			engineDone <- nil
			return
		}
		engineDone <- disp.Run(engineCtx)
	}()
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		delivery.RunSweeper(engineCtx, store, cfg.Retention, delivery.SweepInterval(cfg.Retention), logger)
	}()
	var dbg *http.Server
	if dbgLn != nil {
		dbg = startDebugServer(dbgLn)
		logger.Info("pprof profiles served", "addr", "http://"+dbgLn.Addr().String()+"/debug/pprof/")
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	logger.Info("hookd started", "version", hookd.Version, "addr", ln.Addr().String(), "db", redactDB(cfg.DB),
		"allow_http", cfg.AllowHTTP, "allow_private_targets", cfg.AllowPrivateTargets, "workers", cfg.Workers,
		"max_in_flight", cfg.MaxInFlight, "dialects", strings.Join(cfg.Dialects, ","), "encryption_key", keys.Current().ID())
	if generated {
		fmt.Fprintf(stdout, "hookd: generated a root token; it is shown only this once and kept in %s (mode 0600):\n%s\n",
			filepath.Join(cfg.DataDir, "root-token"), token)
	}
	if genKey != "" {
		// Said where the root token is, once, not as a warning: a first
		// start is no fault.
		fmt.Fprintf(stdout, "hookd: generated the key that encrypts webhook secrets, %s, into %s (mode 0600); "+
			"back it up apart from the database: without it no webhook secret can be read\n", keys.Current().ID(), genKey)
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}

	var runErr error
	engineEnded := false
	select {
	case <-ctx.Done():
		logger.Info("shutting down: finishing requests and in-flight attempts", "timeout", cfg.ShutdownTimeout)
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	case err := <-engineDone:
		engineEnded = true
		runErr = fmt.Errorf("delivery engine: %w", err)
		if err == nil {
			runErr = errors.New("delivery engine stopped")
		}
	}

	// One way down, whatever ended the run.
	stop()
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		logger.Warn("requests still open at shutdown deadline", "err", err)
	}
	// Drain: stop claiming, let in-flight attempts finish and be recorded;
	// at the deadline the rest are cancelled and, unrecorded, become due
	// again after restart (at-least-once).
	if err := disp.Drain(shutCtx); err != nil {
		logger.Warn("attempts still in flight at shutdown deadline; they will be retried after restart")
	}
	if !engineEnded {
		if err := <-engineDone; err != nil && !errors.Is(err, context.Canceled) {
			logger.Warn("delivery engine ended with error", "err", err)
		}
	}
	stopEngine()
	<-sweepDone
	if dbg != nil {
		dbg.Close()
	}
	if runErr == nil {
		logger.Info("hookd stopped")
	}
	return runErr
}

// releaseLeases retries store.ReleaseLeases, backing off from a quarter
// of a second up to 5 s, until it succeeds (true) or ctx ends
// (false).
func releaseLeases(ctx context.Context, store hookd.Store, logger *slog.Logger) bool {
	delay := 250 * time.Millisecond
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		err := store.ReleaseLeases(ctx, time.Now())
		if err == nil {
			logger.Info("released the leases of the last run; delivery starts")
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		delay = min(2*delay, 5*time.Second)
		logger.Warn("cannot release the leases of the last run yet; delivery waits", "err", err, "retry_in", delay)
	}
}

// startDebugServer serves net/http/pprof on ln, its own listener, never on
// the API's address, so profiles are only reachable where the operator
// says.
func startDebugServer(ln net.Listener) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv
}

// redactDB hides a password in a store URL before it is logged.
func redactDB(db string) string {
	if i := strings.Index(db, "://"); i >= 0 {
		rest := db[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				return db[:i+3] + rest[:colon] + ":xxxxx" + rest[at:]
			}
		}
	}
	return db
}
