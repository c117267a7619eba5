package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tt := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of even takes lower", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"p50 of 100", hundred, 50, 50 * time.Millisecond},
		{"max", hundred, 100, 100 * time.Millisecond},
		{"min", hundred, 0, time.Millisecond},
		{"p99 of 10 is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	} {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: percentile(%v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestSummarizeSorts(t *testing.T) {
	t.Parallel()
	got := summarize([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond})
	if got.Count != 3 || got.P50MS != 2 || got.MaxMS != 3 {
		t.Errorf("summarize = %+v", got)
	}
}

func TestGroupOrder(t *testing.T) {
	t.Parallel()
	type arrival struct {
		group string
		n     int64
	}
	for _, tt := range []struct {
		name     string
		arrivals []arrival
		want     int
	}{
		{"in order", []arrival{{"a", 1}, {"a", 2}, {"b", 1}, {"a", 3}, {"b", 2}}, 0},
		{"groups interleave freely", []arrival{{"b", 1}, {"a", 1}, {"b", 2}, {"a", 2}}, 0},
		{"overtaken", []arrival{{"a", 1}, {"a", 3}, {"a", 2}}, 1},
		{"repeat counts", []arrival{{"a", 1}, {"a", 1}}, 1},
		{"gap alone is no violation", []arrival{{"a", 1}, {"a", 3}}, 0},
		{"a late first message", []arrival{{"a", 2}, {"a", 1}, {"a", 3}}, 1},
	} {
		var g groupOrder
		for _, a := range tt.arrivals {
			g.observe(a.group, a.n)
		}
		if g.violations != tt.want {
			t.Errorf("%s: %d violations, want %d (%v)", tt.name, g.violations, tt.want, g.samples)
		}
		if tt.want > 0 && len(g.samples) == 0 {
			t.Errorf("%s: no sample kept", tt.name)
		}
	}
}

func TestCountIn(t *testing.T) {
	t.Parallel()
	if got := countIn([]int64{5, 1, 10, 3, 7}, 3, 10); got != 3 {
		t.Errorf("countIn = %d, want 3", got)
	}
}

func TestRate(t *testing.T) {
	t.Parallel()
	if got := rate(500, 250*time.Millisecond); got != 2000 {
		t.Errorf("rate = %v, want 2000", got)
	}
	if got := rate(5, 0); got != 0 {
		t.Errorf("rate with no time = %v, want 0", got)
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	got := string(appendEvent(nil, evt{Type: "c.grouped", Group: "g0007", Seq: 12, N: 3}, 99, "xx"))
	want := `{"type":"c.grouped","payload":{"seq":12,"t":99,"g":"g0007","n":3,"pad":"xx"},"group":"g0007"}`
	if got != want {
		t.Errorf("appendEvent =\n%s\nwant\n%s", got, want)
	}
	got = string(appendEvent(nil, evt{Type: "a.x", Seq: 1}, 5, ""))
	want = `{"type":"a.x","payload":{"seq":1,"t":5,"pad":""}}`
	if got != want {
		t.Errorf("appendEvent without group =\n%s\nwant\n%s", got, want)
	}
}
