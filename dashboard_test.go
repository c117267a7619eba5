package hookd_test

import (
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
