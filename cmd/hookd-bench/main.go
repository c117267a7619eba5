// Command hookd-bench measures hookd's delivery against the raw HTTP limit
// of the machine it runs on, in one run:
//
//  1. the limit: a plain Go client posting hookd-shaped signed requests to
//     an in-process loopback receiver, with hookd's concurrency;
//  2. hookd itself, built from ./cmd/hookd and run as a child process on a
//     fresh data directory per scenario, publishing through its API and
//     receiving its deliveries on the same receiver.
//
// It prints a table with each figure, its ratio to the limit and the
// targets of issue 4, and exits non-zero when an event was lost, a group
// was delivered out of order, a publish failed or a scenario timed out.
//
//	go run ./cmd/hookd-bench                 # everything (~15–30 min)
//	go run ./cmd/hookd-bench --quick         # small versions, about a minute
//	go run ./cmd/hookd-bench --scenario a,c --json out.json
//
// Run it from the module root (it builds ./cmd/hookd), or give --hookd.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is every knob of a run.
type config struct {
	scenarios       []string
	scale           float64
	quick           bool
	backlog         int
	workers         int
	db              string
	timeout         time.Duration
	scenarioTimeout time.Duration
	stall           time.Duration
	jsonPath        string
	hookdBin        string
	keep            bool
	strict          bool
	limitDur        time.Duration
	steadyDur       time.Duration
	latencyDur      time.Duration
	latencyRate     int
	singleClients   int
	batchClients    int
	batchSize       int
	padBytes        int
	retrySchedule   string
	hookdLogLevel   string
	hookdArgs       []string
	cpuProfile      string
	profileSeconds  int
	fRate           int
	fDur            time.Duration
	fBacklog        int
	nodes           []int
	compareSQLite   bool

	// derived sizes
	aEvents, singleEvents, bEvents, cEvents, dEvents, eLive int
}

// deadline is how long scenario name may take (within --timeout).
func (c *config) deadline(name string) time.Duration {
	if c.scenarioTimeout > 0 {
		return c.scenarioTimeout
	}
	switch {
	case c.quick:
		return 3 * time.Minute
	case name == "e", name == "u":
		return 25 * time.Minute
	default:
		return 10 * time.Minute
	}
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func parseConfig(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("hookd-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scen := fs.String("scenario", "all", "scenarios to run: all, or a comma-separated subset of a,b,c,d,e,f,u")
	fs.Float64Var(&c.scale, "scale", 1, "multiply every event count by this factor")
	fs.BoolVar(&c.quick, "quick", false, "small versions of everything (scale 0.05, short phases, --backlog 20000): a smoke test of about a minute")
	fs.IntVar(&c.backlog, "backlog", 0, "scheduled retries to build up in scenario e, messages in the store of scenario u (default 1,000,000; 20,000 with --quick)")
	fs.IntVar(&c.workers, "workers", 64, "hookd --workers, and the concurrency of the limit client")
	fs.StringVar(&c.db, "db", "", "hookd --db (default: embedded SQLite in the temporary data dir); a postgres:// URL is passed through")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "limit of the whole run")
	fs.DurationVar(&c.scenarioTimeout, "scenario-timeout", 0, "limit of each scenario (default 10m, e 25m, 3m with --quick)")
	fs.DurationVar(&c.stall, "stall", 2*time.Minute, "give up waiting for deliveries after this long without progress (30s with --quick)")
	fs.StringVar(&c.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&c.hookdBin, "hookd", "", "use this hookd binary instead of building ./cmd/hookd")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directory (hookd logs and data)")
	fs.BoolVar(&c.strict, "strict", false, "also exit non-zero when a performance target is missed")
	fs.DurationVar(&c.limitDur, "limit-duration", 10*time.Second, "how long the limit is measured")
	fs.DurationVar(&c.steadyDur, "steady-duration", 20*time.Second, "how long the steady flow of scenario a publishes")
	fs.DurationVar(&c.latencyDur, "latency-duration", 20*time.Second, "how long the fixed load of scenario a is offered")
	fs.IntVar(&c.latencyRate, "latency-rate", 1000, "offered load of the latency measurement, events/s")
	fs.IntVar(&c.singleClients, "single-clients", 32, "concurrent clients publishing single events")
	fs.IntVar(&c.batchClients, "batch-clients", 4, "concurrent clients publishing batches")
	fs.IntVar(&c.batchSize, "batch-size", 1000, "events per /events/batch request")
	fs.IntVar(&c.padBytes, "pad", 120, "padding in each payload, bytes (sets the delivered body size)")
	fs.StringVar(&c.retrySchedule, "retry-schedule", "10ms,20ms", "hookd --retry-schedule (the server default)")
	fs.StringVar(&c.hookdLogLevel, "hookd-log-level", "warn", "hookd --log-level")
	fs.Var((*stringList)(&c.hookdArgs), "hookd-arg", "extra argument for hookd serve (repeatable)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of hookd during scenario a's backlog to this file (runs hookd with --debug-addr)")
	fs.IntVar(&c.profileSeconds, "profile-seconds", 15, "length of the CPU profile")
	fs.IntVar(&c.fRate, "f-rate", 50, "scenario f: the healthy webhook's events a second")
	fs.DurationVar(&c.fDur, "f-duration", 20*time.Second, "scenario f: how long the healthy webhook is published to, alone and beside the hostile backlog (5s with --quick)")
	fs.IntVar(&c.fBacklog, "f-backlog", 500, "scenario f: the backlog of each of the 10 hostile webhooks (50 with --quick)")
	nodes := fs.String("nodes", "1", "hookd processes sharing the PostgreSQL store of --db, as a comma-separated list of counts: each scenario runs once per count (1,3: on one node, then on three), publishing spread over the nodes")
	fs.BoolVar(&c.compareSQLite, "compare-sqlite", false, "with a postgres:// --db, run each scenario on the embedded SQLite store first, in the same run, to compare the stores")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.quick {
		if !set["scale"] {
			c.scale = 0.05
		}
		for name, d := range map[string]*time.Duration{"limit-duration": &c.limitDur, "steady-duration": &c.steadyDur, "latency-duration": &c.latencyDur} {
			if !set[name] {
				*d = min(*d, 3*time.Second)
			}
		}
		if !set["latency-duration"] {
			c.latencyDur = 5 * time.Second
		}
		if !set["stall"] {
			c.stall = 30 * time.Second
		}
		if !set["profile-seconds"] {
			c.profileSeconds = 3
		}
		if !set["f-duration"] {
			c.fDur = 5 * time.Second
		}
		if !set["f-backlog"] {
			c.fBacklog = 50
		}
	}
	if c.backlog == 0 {
		c.backlog = 1_000_000
		if c.quick {
			c.backlog = 20_000
		}
	}
	if *scen == "all" || *scen == "" {
		for _, s := range scenarios {
			c.scenarios = append(c.scenarios, s.name)
		}
	} else {
		for _, s := range strings.Split(*scen, ",") {
			s = strings.TrimSpace(s)
			if !slices.ContainsFunc(scenarios, func(x scenario) bool { return x.name == s }) {
				return nil, fmt.Errorf("--scenario: unknown scenario %q (want a, b, c, d, e, f or u)", s)
			}
			c.scenarios = append(c.scenarios, s)
		}
	}
	for _, f := range strings.Split(*nodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 16 {
			return nil, fmt.Errorf("--nodes %q: want counts of 1 to 16, comma-separated", *nodes)
		}
		c.nodes = append(c.nodes, n)
	}
	switch {
	case c.scale <= 0:
		return nil, errors.New("--scale must be positive")
	case c.workers < 1, c.singleClients < 1, c.batchClients < 1:
		return nil, errors.New("--workers, --single-clients and --batch-clients must be positive")
	case c.batchSize < 1 || c.batchSize > 1000:
		return nil, errors.New("--batch-size must be 1..1000")
	case c.latencyRate < 1 || c.latencyDur < time.Second:
		return nil, errors.New("--latency-rate must be positive and --latency-duration at least 1s")
	case c.backlog < 1:
		return nil, errors.New("--backlog must be positive")
	case c.fRate < 1 || c.fDur < time.Second || c.fBacklog < 1:
		return nil, errors.New("--f-rate and --f-backlog must be positive and --f-duration at least 1s")
	case c.db != "" && !strings.HasPrefix(c.db, "postgres://") && !strings.HasPrefix(c.db, "postgresql://") && !strings.HasPrefix(c.db, "sqlite://"):
		return nil, fmt.Errorf("--db %q: want a postgres:// or sqlite:// URL", c.db)
	case !isPostgres(c.db) && (len(c.nodes) > 1 || c.nodes[0] > 1):
		return nil, errors.New("--nodes: several nodes share only a PostgreSQL store (--db postgres://…)")
	case c.compareSQLite && !isPostgres(c.db):
		return nil, errors.New("--compare-sqlite needs a postgres:// --db to compare with")
	}
	c.aEvents = scaled(100_000, c.scale, 100)
	c.singleEvents = scaled(20_000, c.scale, 100)
	c.bEvents = scaled(1_000, c.scale, 10)
	c.cEvents = scaled(100_000, c.scale, 1000)
	c.dEvents = scaled(20_000, c.scale, 100)
	c.eLive = scaled(50_000, c.scale, 1000)
	return c, nil
}

// setup is one store and node count the scenarios run on.
type setup struct {
	label string // "sqlite", "pg×1", "pg×3"
	db    string // hookd --db; "" for the embedded store
	nodes int
}

// setups returns what the run's scenarios run on, in order.
func (c *config) setups() []setup {
	if !isPostgres(c.db) {
		return []setup{{label: "sqlite", db: c.db, nodes: 1}}
	}
	var out []setup
	if c.compareSQLite {
		out = append(out, setup{label: "sqlite", nodes: 1})
	}
	for _, n := range c.nodes {
		out = append(out, setup{label: fmt.Sprintf("pg×%d", n), db: c.db, nodes: n})
	}
	return out
}

// bench is the state of one run.
type bench struct {
	cfg   *config
	rcv   *receiver
	bin   string
	tmp   string
	pad   string
	seq   atomic.Int64 // every published event has its own number
	limit limitResult
	log   io.Writer
	start time.Time

	mu      sync.Mutex
	procs   []*hookdProc
	schemas []string // PostgreSQL schemas made for scenarios, see freshSchema
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "[%6.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

// track remembers a hookd process so that it is stopped on every exit path.
func (b *bench) track(h *hookdProc) {
	b.mu.Lock()
	b.procs = append(b.procs, h)
	b.mu.Unlock()
}

func (b *bench) stopAll() {
	b.mu.Lock()
	procs := b.procs
	b.procs = nil
	b.mu.Unlock()
	for _, p := range procs {
		p.stop()
	}
}

// startProfile fetches a CPU profile from hookd's pprof listener (serve
// --debug-addr, added when --cpuprofile is given) while the caller works;
// the returned func waits for it.
func (b *bench) startProfile(ctx context.Context, e *env, r *scenarioResult) (wait func()) {
	if b.cfg.cpuProfile == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", e.h.debug, b.cfg.profileSeconds)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			r.note("CPU profile: %v", err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			r.note("CPU profile: hookd answered %d to /debug/pprof/profile: it does not expose pprof", resp.StatusCode)
			return
		}
		f, err := os.Create(b.cfg.cpuProfile)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			r.note("CPU profile: %v", err)
			return
		}
		r.note("CPU profile of hookd (%ds during the backlog) written to %s", b.cfg.profileSeconds, b.cfg.cpuProfile)
	}()
	return func() { <-done }
}

// sourceVersion names the commit the work tree is on, and whether files
// other than the benchmark's own differ from it (others may be changing the
// tree while we build).
func sourceVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "log", "-1", "--format=%h %cI %s").Output()
	if err != nil {
		return "unknown (not a git work tree)"
	}
	v := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--", ".",
		":!cmd/hookd-bench", ":!BENCHMARKS.md").Output(); err == nil && len(st) > 0 {
		v += " (+ uncommitted changes)"
	}
	return v
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		fmt.Fprintf(stderr, "hookd-bench: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	b := &bench{cfg: cfg, log: stderr, start: time.Now(), pad: strings.Repeat("x", cfg.padBytes)}
	res := newResults(cfg, args)
	b.tmp, err = os.MkdirTemp("", "hookd-bench-")
	if err != nil {
		fmt.Fprintf(stderr, "hookd-bench: %v\n", err)
		return 1
	}
	defer func() {
		b.stopAll()
		if !cfg.keep && isPostgres(cfg.db) {
			b.dropSchemas(cfg.db)
		}
		if cfg.keep {
			fmt.Fprintf(stderr, "hookd-bench: kept %s\n", b.tmp)
		} else {
			os.RemoveAll(b.tmp)
		}
	}()
	b.rcv, err = startReceiver()
	if err != nil {
		fmt.Fprintf(stderr, "hookd-bench: receiver: %v\n", err)
		return 1
	}
	defer b.rcv.close()

	// Build first, so the build's CPU does not disturb the limit.
	b.bin = cfg.hookdBin
	res.Source = "binary " + b.bin
	if b.bin == "" {
		res.Source = sourceVersion(ctx)
		b.logf("building hookd")
		b.bin, err = buildHookd(ctx, b.tmp)
		if err != nil {
			res.Fatal = err.Error()
			return b.report(res, stdout, stderr)
		}
	} else if abs, err := filepath.Abs(b.bin); err == nil {
		b.bin = abs
	}

	b.logf("measuring the limit: %d clients for %s", cfg.workers, cfg.limitDur)
	b.limit, err = b.measureLimit(ctx, cfg.workers, cfg.limitDur, 50_000_000)
	if err != nil {
		res.Fatal = "limit: " + err.Error()
		return b.report(res, stdout, stderr)
	}
	res.Limit = b.limit
	b.logf("limit: %.0f requests/s (%d requests, %.0f-byte bodies)", b.limit.Rate, b.limit.Requests, b.limit.BodyBytes)

	for _, st := range cfg.setups() {
		for _, s := range scenarios {
			if !slices.Contains(cfg.scenarios, s.name) {
				continue
			}
			if ctx.Err() != nil {
				res.Scenarios = append(res.Scenarios, scenarioResult{Name: s.name, Title: s.title, Setup: st.label,
					Error: "not run: " + context.Cause(ctx).Error()})
				continue
			}
			res.Scenarios = append(res.Scenarios, b.runScenario(ctx, s, st))
		}
	}
	if ctx.Err() != nil && res.Fatal == "" {
		res.Fatal = "run ended early: " + ctx.Err().Error()
	}
	return b.report(res, stdout, stderr)
}
