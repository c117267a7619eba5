package hookd_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestMinIDAndIDTime(t *testing.T) {
	t.Parallel()
	before := time.Now().Add(-time.Millisecond)
	id := hookd.NewID(hookd.PrefixMessage)
	after := time.Now().Add(time.Millisecond)
	if lo, hi := hookd.MinID(hookd.PrefixMessage, before), hookd.MinID(hookd.PrefixMessage, after); !(lo <= id && id < hi) {
		t.Fatalf("MinID(before) = %s, id = %s, MinID(after) = %s: want lo <= id < hi", lo, id, hi)
	}
	got, ok := hookd.IDTime(id)
	if !ok || got.Before(before.Truncate(time.Millisecond)) || got.After(after) {
		t.Fatalf("IDTime(%s) = %v, %v; want between %v and %v", id, got, ok, before, after)
	}
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	if got, ok := hookd.IDTime(hookd.MinID("evt", at)); !ok || !got.Equal(at) {
		t.Fatalf("IDTime(MinID(t)) = %v, %v; want %v", got, ok, at)
	}
	for _, bad := range []string{"", "msg", "msg_", "msg_0123", "msg_" + "!!!!!!!!!!!!!!!!!!!!!!!!!!"} {
		if _, ok := hookd.IDTime(bad); ok {
			t.Errorf("IDTime(%q) ok, want not an id", bad)
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	t.Parallel()
	var h hookd.Histogram
	if _, ok := h.Quantile(0.5); ok {
		t.Fatal("empty histogram has a median")
	}
	one := make(hookd.Histogram, len(hookd.LatencyBounds)+1)
	for _, ms := range []int64{10, 10, 10, 10, 10, 10, 10, 10, 10, 900} {
		one[hookd.LatencyBin(ms)]++
	}
	h.Add(one)
	tests := []struct {
		q      float64
		lo, hi float64
	}{
		{0.5, 8, 12},      // the bin (8, 12]
		{0.99, 675, 1000}, // the slow one's bin
	}
	for _, tt := range tests {
		got, ok := h.Quantile(tt.q)
		if !ok || got < tt.lo || got > tt.hi {
			t.Errorf("Quantile(%v) = %v, %v; want in [%v, %v]", tt.q, got, ok, tt.lo, tt.hi)
		}
	}
	if got := hookd.LatencyBin(1 << 40); got != len(hookd.LatencyBounds) {
		t.Errorf("LatencyBin(huge) = %d, want the last bin %d", got, len(hookd.LatencyBounds))
	}
}

// ManualOp.Allows answers what the transition rules do, and Apply is them.
func TestManualOpAllows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op   hookd.ManualOp
		want []hookd.MessageState
	}{
		{hookd.OpRetry, []hookd.MessageState{hookd.StateCreated, hookd.StatePending, hookd.StateRetrying,
			hookd.StateFailed, hookd.StateAborted, hookd.StateResolved}},
		{hookd.OpAbort, []hookd.MessageState{hookd.StateCreated, hookd.StatePending, hookd.StateRetrying, hookd.StateFailed}},
		{hookd.OpResolve, []hookd.MessageState{hookd.StateCreated, hookd.StatePending, hookd.StateRetrying, hookd.StateFailed}},
		{hookd.ManualOp("delete"), nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.op), func(t *testing.T) {
			if got := tt.op.States(); !slices.Equal(got, tt.want) {
				t.Fatalf("States() = %v, want %v", got, tt.want)
			}
			if tt.op.Allows("bogus") {
				t.Fatal("Allows an unknown state")
			}
			for _, st := range allState {
				tr, err := tt.op.Apply(leased(st), hook(), false, t0)
				if got, want := err == nil, tt.op.Allows(st); got != want {
					t.Fatalf("Apply from %s: err = %v, but Allows = %v", st, err, want)
				}
				if err == nil && (!tr.Moved || tr.From != st) {
					t.Fatalf("Apply from %s = %+v, want a move", st, tr)
				}
			}
		})
	}
	if _, err := hookd.ManualOp("delete").Apply(leased(hookd.StateFailed), hook(), false, t0); hookd.ErrorCode(err) != hookd.EINVALID {
		t.Fatalf("unknown op: err = %v, want EINVALID", err)
	}
	// A retry of a message whose webhook was deleted is refused.
	if _, err := hookd.OpRetry.Apply(leased(hookd.StateFailed), nil, false, t0); hookd.ErrorCode(err) != hookd.ECONFLICT {
		t.Fatalf("retry without webhook: err = %v, want ECONFLICT", err)
	}
}
