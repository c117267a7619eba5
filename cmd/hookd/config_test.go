package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/delivery"
)

func TestParseServeConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c *serveConfig)
		err   string
	}{
		{name: "defaults", check: func(t *testing.T, c *serveConfig) {
			if c.Addr != "127.0.0.1:8080" || c.DB != "sqlite://hookd-data/hookd.db" || c.AllowHTTP || c.AllowPrivateTargets {
				t.Errorf("defaults: %+v", c)
			}
			if c.Retention != 720*time.Hour || c.MaxPayloadBytes != 256<<10 || c.RateLimit != 0 {
				t.Errorf("defaults: %+v", c)
			}
			want := []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
			if !reflect.DeepEqual(c.RetrySchedule, want) {
				t.Errorf("retry schedule %v, want %v", c.RetrySchedule, want)
			}
		}},
		{name: "env fills flags", env: map[string]string{"HOOKD_ADDR": "127.0.0.1:9999", "HOOKD_ALLOW_HTTP": "true",
			"HOOKD_RETRY_SCHEDULE": "10ms, 20ms", "HOOKD_DATA_DIR": "/tmp/x"}, check: func(t *testing.T, c *serveConfig) {
			if c.Addr != "127.0.0.1:9999" || !c.AllowHTTP || c.AllowPrivateTargets || c.DB != "sqlite:///tmp/x/hookd.db" {
				t.Errorf("env: %+v", c)
			}
			if !reflect.DeepEqual(c.RetrySchedule, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}) {
				t.Errorf("retry schedule %v", c.RetrySchedule)
			}
		}},
		{name: "flag wins over env", args: []string{"--addr", "127.0.0.1:1"}, env: map[string]string{"HOOKD_ADDR": "127.0.0.1:2"},
			check: func(t *testing.T, c *serveConfig) {
				if c.Addr != "127.0.0.1:1" {
					t.Errorf("addr %s", c.Addr)
				}
			}},
		{name: "dev enables both", args: []string{"--dev"}, check: func(t *testing.T, c *serveConfig) {
			if !c.AllowHTTP || !c.AllowPrivateTargets {
				t.Errorf("dev: %+v", c)
			}
		}},
		{name: "every dialect by default", check: func(t *testing.T, c *serveConfig) {
			if !reflect.DeepEqual(c.Dialects, []string{"property", "facility", "device", "enterprise"}) {
				t.Errorf("dialects %q", c.Dialects)
			}
		}},
		{name: "dialects chosen", args: []string{"--dialects", "enterprise, property"}, check: func(t *testing.T, c *serveConfig) {
			if !reflect.DeepEqual(c.Dialects, []string{"property", "enterprise"}) {
				t.Errorf("dialects %q", c.Dialects)
			}
		}},
		{name: "no dialect from env", env: map[string]string{"HOOKD_DIALECTS": "none"}, check: func(t *testing.T, c *serveConfig) {
			if c.Dialects == nil || len(c.Dialects) != 0 {
				t.Errorf("dialects %q", c.Dialects)
			}
		}},
		{name: "unknown dialect", args: []string{"--dialects", "property,stripe"}, err: `--dialects: "stripe" is not a dialect`},
		{name: "bad schedule", args: []string{"--retry-schedule", "5m,soon"}, err: "soon"},
		{name: "bad env bool", env: map[string]string{"HOOKD_ALLOW_HTTP": "maybe"}, err: "HOOKD_ALLOW_HTTP"},
		{name: "bad retention", args: []string{"--retention", "0s"}, err: "retention"},
		{name: "stray argument", args: []string{"extra"}, err: "unexpected"},
		{name: "rate limit from env", env: map[string]string{"HOOKD_RATE_LIMIT": "12.5", "HOOKD_RATE_BURST": "40"},
			check: func(t *testing.T, c *serveConfig) {
				if c.RateLimit != 12.5 || c.RateBurst != 40 {
					t.Errorf("rate limit %v, burst %d", c.RateLimit, c.RateBurst)
				}
			}},
		{name: "negative rate limit", args: []string{"--rate-limit", "-1"}, err: "rate-limit"},
		{name: "infinite rate limit", args: []string{"--rate-limit", "+Inf"}, err: "rate-limit"},
		{name: "negative burst", args: []string{"--rate-burst", "-3"}, err: "rate-burst"},
		{name: "max in flight default", check: func(t *testing.T, c *serveConfig) {
			if c.MaxInFlight != delivery.DefaultMaxInFlight {
				t.Errorf("max in flight %d, want %d", c.MaxInFlight, delivery.DefaultMaxInFlight)
			}
		}},
		{name: "max in flight from env", env: map[string]string{"HOOKD_MAX_IN_FLIGHT": "5"},
			check: func(t *testing.T, c *serveConfig) {
				if c.MaxInFlight != 5 {
					t.Errorf("max in flight %d, want 5", c.MaxInFlight)
				}
			}},
		{name: "max in flight 0", args: []string{"--max-in-flight", "0"}, err: "max-in-flight"},
		{name: "max in flight too high", args: []string{"--max-in-flight", "1001"}, err: "max-in-flight"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parseServeConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestServeHelpNamesEveryEnvVariable(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	_, err := parseServeConfig([]string{"--help"}, func(string) string { return "" }, &b)
	if err != flagHelp {
		t.Fatalf("err = %v, want flagHelp", err)
	}
	for _, want := range []string{"--addr", "HOOKD_ADDR", "--db", "HOOKD_DB", "--data-dir", "HOOKD_DATA_DIR",
		"--root-token", "HOOKD_ROOT_TOKEN", "--allow-http", "--allow-private-targets", "HOOKD_ALLOW_PRIVATE_TARGETS",
		"--dev", "--retry-schedule", "--max-payload-bytes", "--retention", "HOOKD_RETENTION",
		"--max-in-flight", "HOOKD_MAX_IN_FLIGHT"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("help lacks %s:\n%s", want, b.String())
		}
	}
}
