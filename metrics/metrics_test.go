package metrics_test

import (
	"strings"
	"testing"

	"github.com/hookd/hookd/metrics"
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
