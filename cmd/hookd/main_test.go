package main

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

// hookd's GC target is defaultGCPercent unless GOGC chose one (the runtime
// applied it before main).
func TestSetGCPercent(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	for _, tt := range []struct {
		env  string
		want int
	}{
		{"", defaultGCPercent},
		{"100", 100}, // left as the runtime set it
		{"off", 100},
	} {
		debug.SetGCPercent(100)
		setGCPercent(tt.env)
		if got := debug.SetGCPercent(100); got != tt.want {
			t.Errorf("GOGC=%q: GC percent %d, want %d", tt.env, got, tt.want)
		}
	}
}

// hookd's soft memory limit is defaultMemoryLimit unless GOMEMLIMIT chose
// one.
func TestSetMemoryLimit(t *testing.T) {
	orig := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(orig)
	for _, tt := range []struct {
		env  string
		want int64
	}{
		{"", defaultMemoryLimit},
		{"1GiB", 1 << 40}, // left as the runtime set it (here: the test's)
	} {
		debug.SetMemoryLimit(1 << 40)
		setMemoryLimit(tt.env)
		if got := debug.SetMemoryLimit(-1); got != tt.want {
			t.Errorf("GOMEMLIMIT=%q: limit %d, want %d", tt.env, got, tt.want)
		}
	}
}

// Every --help goes to stdout with status 0; a mistake goes to stderr with
// status 2, and nothing to stdout.
func TestHelpAndErrorStreams(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args        []string
		code        int
		out, errOut string // substrings of stdout and stderr ("" : must be empty)
	}{
		{[]string{"--help"}, 0, "Usage:", ""},
		{[]string{"-h"}, 0, "Usage:", ""},
		{[]string{"help"}, 0, "Usage:", ""},
		{[]string{"serve", "--help"}, 0, "Usage: hookd serve", ""},
		{[]string{"serve", "-h"}, 0, "--metrics-per-tenant", ""},
		{[]string{"serve", "-help"}, 0, "HOOKD_ADDR", ""},
		{[]string{"help", "serve"}, 0, "Usage: hookd serve", ""},
		{[]string{"version", "--help"}, 0, "Usage: hookd version", ""},
		{[]string{"rekey", "--help"}, 0, "Usage: hookd rekey", ""},
		{[]string{"help", "rekey"}, 0, "Usage: hookd rekey", ""},
		{[]string{"keygen", "--help"}, 0, "keygen", ""},
		{[]string{"migrate", "--help"}, 0, "Usage: hookd migrate", ""},
		{[]string{"help", "migrate"}, 0, "HOOKD_DB", ""},
		{[]string{"migrate", "--nope"}, 2, "", "flag provided but not defined: -nope"},
		{[]string{"migrate", "stray"}, 2, "", `unexpected argument "stray"`},
		{[]string{"rekey", "--nope"}, 2, "", "flag provided but not defined: -nope"},
		{[]string{"help", "version"}, 0, "Usage: hookd version", ""},
		{[]string{"help", "webhooks"}, 0, "Usage: hookd webhooks <verb>", ""},
		{[]string{"webhooks", "--help"}, 0, "unsuspend", ""},
		{[]string{"listen", "--help"}, 0, "--forward-to", ""},
		{[]string{"help", "messages"}, 0, "attempts <message-id>", ""},
		{[]string{"webhooks", "nope"}, 2, "", `unknown verb "nope"`},
		{[]string{"--help"}, 0, "hookd listen --forward-to", ""},
		{[]string{"version"}, 0, "hookd ", ""},
		{[]string{}, 2, "", "Usage:"},
		{[]string{"nope"}, 2, "", `unknown command "nope"`},
		{[]string{"help", "nope"}, 2, "", `unknown command "nope"`},
		{[]string{"serve", "--nope"}, 2, "", "flag provided but not defined: -nope"},
		{[]string{"serve", "--workers", "many"}, 2, "", "hookd serve --help"},
		{[]string{"serve", "stray"}, 2, "", `unexpected argument "stray"`},
		{[]string{"version", "extra"}, 2, "", `unexpected argument "extra"`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var stdout, stderr strings.Builder
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit status %d, want %d", code, tt.code)
			}
			for _, c := range []struct {
				name, got, want string
			}{{"stdout", stdout.String(), tt.out}, {"stderr", stderr.String(), tt.errOut}} {
				if (c.want == "" && c.got != "") || !strings.Contains(c.got, c.want) {
					t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
				}
			}
		})
	}
}
