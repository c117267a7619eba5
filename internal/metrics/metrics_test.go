package metrics_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/metrics"
)

func TestRegistryText(t *testing.T) {
	t.Parallel()
	r := metrics.NewRegistry()
	ok := r.Counter(`hookd_attempts_total{result="success"}`, "Delivery attempts.")
	bad := r.Counter(`hookd_attempts_total{result="failure"}`, "Delivery attempts.")
	r.Gauge("hookd_up", "Always 1.", func() float64 { return 1 })
	h := r.Histogram(`hookd_attempt_seconds`, "Attempt duration.", []float64{0.1, 1})
	ok.Add(3)
	bad.Inc()
	h.Observe(0.05)
	h.Observe(0.5)
	h.Observe(5)
	var b strings.Builder
	r.WriteText(&b)
	got := b.String()
	for _, want := range []string{
		"# TYPE hookd_attempts_total counter\n",
		`hookd_attempts_total{result="success"} 3` + "\n",
		`hookd_attempts_total{result="failure"} 1` + "\n",
		"hookd_up 1\n",
		`hookd_attempt_seconds_bucket{le="0.1"} 1` + "\n",
		`hookd_attempt_seconds_bucket{le="1"} 2` + "\n",
		`hookd_attempt_seconds_bucket{le="+Inf"} 3` + "\n",
		"hookd_attempt_seconds_count 3\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "# TYPE hookd_attempts_total") != 1 {
		t.Errorf("TYPE line repeated:\n%s", got)
	}
}

// TestWriteTextWhileRegistering scrapes while counters of new names are
// registered, as the HTTP layer registers a route's counter on its first
// request: under -race it fails if WriteText reads the registry's maps
// outside its lock.
func TestWriteTextWhileRegistering(t *testing.T) {
	t.Parallel()
	r := metrics.NewRegistry()
	r.Counter("hookd_first_total", "The first.").Inc()
	const n = 200
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			r.Counter(fmt.Sprintf("hookd_lazy_%d_total", i), "Registered while scraping.").Inc()
		}
	}()
	for range n {
		var b strings.Builder
		r.WriteText(&b)
		if !strings.Contains(b.String(), "hookd_first_total 1\n") {
			t.Fatalf("scrape lacks the first counter:\n%s", b.String())
		}
	}
	<-done
	var b strings.Builder
	r.WriteText(&b)
	got := b.String()
	for i := range n {
		name := fmt.Sprintf("hookd_lazy_%d_total", i)
		if want := "# HELP " + name + " Registered while scraping.\n"; !strings.Contains(got, want) {
			t.Fatalf("final scrape lacks %q", want)
		}
	}
}

func TestCounterFamily(t *testing.T) {
	t.Parallel()
	r := metrics.NewRegistry()
	f := r.CounterFamily(`hookd_tenant_attempts_total{kind="x"}`, "Attempts per tenant.", "tenant", "result")
	f.With("acme", "success").Add(2)
	f.With("acme", "success").Inc()
	f.With("b\"\\\n", "failure").Inc()
	g := r.CounterFamily("hookd_plain_total", "Plain.", "tenant")
	g.With("acme").Inc()
	var b strings.Builder
	r.WriteText(&b)
	got := b.String()
	for _, want := range []string{
		"# TYPE hookd_tenant_attempts_total counter\n",
		`hookd_tenant_attempts_total{kind="x",tenant="acme",result="success"} 3` + "\n",
		`hookd_tenant_attempts_total{kind="x",tenant="b\"\\\n",result="failure"} 1` + "\n",
		`hookd_plain_total{tenant="acme"} 1` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
