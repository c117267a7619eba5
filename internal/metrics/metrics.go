// Package metrics is a small Prometheus text-format registry: counters,
// gauges read from functions, and histograms. It avoids the 9 MB client
// library for the handful of series hookd exports.
package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds metrics and writes them in the Prometheus text format.
type Registry struct {
	mu      sync.Mutex
	help    map[string]string // base name → help
	kind    map[string]string // base name → counter|gauge|histogram
	series  map[string]func(w io.Writer)
	ordered []string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{help: map[string]string{}, kind: map[string]string{}, series: map[string]func(io.Writer){}}
}

func baseName(name string) string {
	if i := strings.IndexByte(name, '{'); i >= 0 {
		return name[:i]
	}
	return name
}

func (r *Registry) add(name, help, kind string, write func(io.Writer)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := baseName(name)
	if _, ok := r.help[b]; !ok {
		r.help[b], r.kind[b] = help, kind
	}
	if _, ok := r.series[name]; !ok {
		r.ordered = append(r.ordered, name)
	}
	r.series[name] = write
}

// Counter is a monotonically increasing count.
type Counter struct{ v atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Value returns the count.
func (c *Counter) Value() uint64 { return c.v.Load() }

// Counter registers and returns a counter. name may carry labels:
// `hookd_attempts_total{result="success"}`; registering the same name twice
// returns a new counter that replaces the first.
func (r *Registry) Counter(name, help string) *Counter {
	c := &Counter{}
	r.add(name, help, "counter", func(w io.Writer) { fmt.Fprintf(w, "%s %d\n", name, c.Value()) })
	return c
}

// Gauge registers a gauge whose value is read from f at scrape time.
func (r *Registry) Gauge(name, help string, f func() float64) {
	r.add(name, help, "gauge", func(w io.Writer) { fmt.Fprintf(w, "%s %s\n", name, formatFloat(f())) })
}

// Histogram counts observations into cumulative buckets.
type Histogram struct {
	mu     sync.Mutex
	bounds []float64
	counts []uint64
	sum    float64
	count  uint64
	name   string
	labels string
}

// Observe records v.
func (h *Histogram) Observe(v float64) {
	h.mu.Lock()
	for i, b := range h.bounds {
		if v <= b {
			h.counts[i]++
		}
	}
	h.sum += v
	h.count++
	h.mu.Unlock()
}

// Histogram registers a histogram with the given upper bounds (sorted).
func (r *Registry) Histogram(name, help string, bounds []float64) *Histogram {
	b := append([]float64(nil), bounds...)
	sort.Float64s(b)
	base, labels := baseName(name), ""
	if len(base) < len(name) {
		labels = strings.TrimSuffix(name[len(base)+1:], "}")
	}
	h := &Histogram{bounds: b, counts: make([]uint64, len(b)), name: base, labels: labels}
	r.add(name, help, "histogram", h.write)
	return h
}

func (h *Histogram) write(w io.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	lbl := func(extra string) string {
		switch {
		case h.labels == "" && extra == "":
			return ""
		case h.labels == "":
			return "{" + extra + "}"
		case extra == "":
			return "{" + h.labels + "}"
		}
		return "{" + h.labels + "," + extra + "}"
	}
	for i, b := range h.bounds {
		fmt.Fprintf(w, "%s_bucket%s %d\n", h.name, lbl(`le="`+formatFloat(b)+`"`), h.counts[i])
	}
	fmt.Fprintf(w, "%s_bucket%s %d\n", h.name, lbl(`le="+Inf"`), h.count)
	fmt.Fprintf(w, "%s_sum%s %s\n", h.name, lbl(""), formatFloat(h.sum))
	fmt.Fprintf(w, "%s_count%s %d\n", h.name, lbl(""), h.count)
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return fmt.Sprintf("%g", f)
}

// WriteText writes every metric, grouped by base name with HELP and TYPE.
// What it needs of the registry is copied under the lock, since counters
// are registered lazily (the HTTP layer's on a route's first request) while
// a scrape runs; the series are written after it is released, so that a
// gauge's function never runs under it.
func (r *Registry) WriteText(w io.Writer) {
	type entry struct {
		name, base, help, kind string
		write                  func(io.Writer)
	}
	r.mu.Lock()
	entries := make([]entry, len(r.ordered))
	for i, n := range r.ordered {
		b := baseName(n)
		entries[i] = entry{name: n, base: b, help: r.help[b], kind: r.kind[b], write: r.series[n]}
	}
	r.mu.Unlock()
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].base < entries[j].base })
	last := ""
	for _, e := range entries {
		if e.base != last {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", e.base, e.help, e.base, e.kind)
			last = e.base
		}
		e.write(w)
	}
}

// ServeHTTP serves the registry as a Prometheus scrape target.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	r.WriteText(w)
}
