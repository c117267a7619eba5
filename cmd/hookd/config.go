package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
	"github.com/hookd/hookd/internal/dialect"
)

// serveConfig is everything `hookd serve` is told by flags and environment.
type serveConfig struct {
	Addr                string
	DB                  string
	SingleNode          bool
	DataDir             string
	EncryptionKeyFile   string // see keys.go
	PreviousKeyFile     string
	RootToken           string
	AllowHTTP           bool
	AllowPrivateTargets bool
	Dev                 bool
	RetrySchedule       []time.Duration
	MaxPayloadBytes     int
	Retention           time.Duration
	Workers             int
	MaxInFlight         int
	RateLimit           float64
	RateBurst           int
	ShutdownTimeout     time.Duration
	DebugAddr           string
	LogFormat           string
	LogLevel            string
	UIFrameAncestors    []string
	UISessionTTL        time.Duration
	PublicURL           string
	MetricsPerTenant    bool
	Dialects            []string // the seeds' APIs served beside /v1 (see package dialect)
}

// envName is the environment variable of a flag: --allow-http → HOOKD_ALLOW_HTTP.
func envName(flagName string) string {
	return "HOOKD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// durationList is a flag value holding comma-separated Go durations.
type durationList []time.Duration

func (d *durationList) String() string {
	s := make([]string, len(*d))
	for i, v := range *d {
		s[i] = v.String()
	}
	return strings.Join(s, ",")
}

func (d *durationList) Set(v string) error {
	var out []time.Duration
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		x, err := time.ParseDuration(p)
		if err != nil || x <= 0 {
			return fmt.Errorf("%q is not a positive duration", p)
		}
		out = append(out, x)
	}
	if len(out) == 0 {
		return errors.New("needs at least one duration")
	}
	*d = out
	return nil
}

// flagHelp is returned when --help was asked for (usage already printed).
var flagHelp = flag.ErrHelp

// parseFlags parses args with fs, then fills every flag not given on the
// command line from its HOOKD_* variable (flags win over the
// environment). --help (-h) prints intro and every flag with its variable
// to fs's output (stdout: help is no error) and returns flagHelp; a bad
// flag is returned, never printed, for the caller to report on stderr.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, intro string) error {
	help := fs.Output()
	fs.SetOutput(io.Discard) // the flag package prints errors and usage there
	fs.Usage = func() {}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(help, intro+" Every flag can also be set with the\nenvironment variable shown beside it; a flag on the command line wins.\n\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(help, "  --%s  [%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
		return flagHelp
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", envName(f.Name), err))
			}
		}
	})
	return errors.Join(errs...)
}

// parseServeConfig reads flags, then fills every flag not given on the
// command line from its HOOKD_* variable (flags win over the environment).
// --help (or -h) writes the usage to help and returns flagHelp; a bad flag
// is returned, not printed (the caller prints it on stderr).
func parseServeConfig(args []string, getenv func(string) string, help io.Writer) (*serveConfig, error) {
	c := &serveConfig{RetrySchedule: append([]time.Duration(nil), hookd.DefaultRetrySchedule...)}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(help)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.DB, "db", "", "store URL: sqlite://<path> (default sqlite://<data-dir>/hookd.db) or postgres://user:password@host:port/database?sslmode=…")
	fs.BoolVar(&c.SingleNode, "single-node", false, "no other hookd process uses the PostgreSQL store: messages still leased at start-up were in flight when the last process died and are due at once, not when their lease ends (always so with sqlite://)")
	fs.StringVar(&c.DataDir, "data-dir", "./hookd-data", "directory for the embedded store and the generated root token")
	keyFlags(fs, &c.EncryptionKeyFile, &c.PreviousKeyFile)
	fs.StringVar(&c.RootToken, "root-token", "", "root API token; if unset, read from <data-dir>/root-token or generated there on first start and printed once")
	fs.BoolVar(&c.AllowHTTP, "allow-http", false, "allow http:// webhook targets (https only by default)")
	fs.BoolVar(&c.AllowPrivateTargets, "allow-private-targets", false, "allow targets on loopback, private, link-local, CGNAT, multicast or metadata addresses")
	fs.BoolVar(&c.Dev, "dev", false, "development mode: --allow-http and --allow-private-targets, with a warning")
	rs := (*durationList)(&c.RetrySchedule)
	fs.Var(rs, "retry-schedule", "default delays before retry 1, 2, … (comma-separated durations; the last repeats)")
	fs.IntVar(&c.MaxPayloadBytes, "max-payload-bytes", 256<<10, "largest event payload accepted, in bytes")
	fs.DurationVar(&c.Retention, "retention", 720*time.Hour, "terminal messages, their attempts and events older than this are deleted")
	fs.IntVar(&c.Workers, "workers", 64, "concurrent delivery attempts")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", delivery.DefaultMaxInFlight,
		"concurrent attempts to one webhook whose max_in_flight is null (1..1000)")
	fs.Float64Var(&c.RateLimit, "rate-limit", 0, "API requests a second each tenant's keys may make together, on average; beyond it 429 with Retry-After (0: no limit; the root token is never limited)")
	fs.IntVar(&c.RateBurst, "rate-burst", 0, "API requests a tenant may make at once under --rate-limit (0: the limit rounded up)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight requests and attempts")
	fs.StringVar(&c.DebugAddr, "debug-addr", "", "if set, serve Go's pprof profiles at http://<debug-addr>/debug/pprof/ (keep it on loopback)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	var frame string
	fs.StringVar(&frame, "ui-frame-ancestors", "", "origins that may frame the dashboard's pages (CSP frame-ancestors), space- or comma-separated, e.g. https://app.example.com; none by default")
	fs.DurationVar(&c.UISessionTTL, "ui-session-ttl", 8*time.Hour, "how long a dashboard sign-in or portal session lasts")
	fs.StringVar(&c.PublicURL, "public-url", "", "the origin portal links point at, e.g. https://hooks.example.com (default: the request's)")
	dialectList := fs.String("dialects", strings.Join(dialect.Names, ","), "the seeds' APIs served beside /v1, comma-separated ("+strings.Join(dialect.Names, ", ")+"), or none")
	fs.BoolVar(&c.MetricsPerTenant, "metrics-per-tenant", false, "export per-tenant counters (hookd_tenant_*: published events, delivery attempts); off by default, as every tenant adds series")
	if err := parseFlags(fs, args, getenv, "Usage: hookd serve [flags]\n\nRuns the hookd API and delivery engine."); err != nil {
		return nil, err
	}
	if c.Dev {
		c.AllowHTTP, c.AllowPrivateTargets = true, true
	}
	for _, o := range strings.FieldsFunc(frame, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") || strings.ContainsAny(o, ";'\"") {
			return nil, fmt.Errorf("--ui-frame-ancestors: %q is not an http(s) origin", o)
		}
		c.UIFrameAncestors = append(c.UIFrameAncestors, o)
	}
	names, err := dialect.ParseNames(*dialectList)
	if err != nil {
		return nil, fmt.Errorf("--dialects: %v", err)
	}
	c.Dialects = names
	if c.UISessionTTL <= 0 {
		return nil, errors.New("--ui-session-ttl must be positive")
	}
	if c.DB == "" {
		c.DB = "sqlite://" + filepath.Join(c.DataDir, "hookd.db")
	}
	if c.MaxPayloadBytes < 1 {
		return nil, errors.New("--max-payload-bytes must be positive")
	}
	if c.Workers < 1 {
		return nil, errors.New("--workers must be positive")
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > hookd.MaxMaxInFlight {
		return nil, fmt.Errorf("--max-in-flight must be between 1 and %d", hookd.MaxMaxInFlight)
	}
	if c.RateLimit < 0 || math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) {
		return nil, errors.New("--rate-limit must be a number of requests a second, 0 for none")
	}
	if c.RateBurst < 0 {
		return nil, errors.New("--rate-burst must not be negative")
	}
	if c.Retention <= 0 {
		return nil, errors.New("--retention must be positive")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
	}
	return c, nil
}
