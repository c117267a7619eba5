package main

import (
	"runtime/debug"
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
