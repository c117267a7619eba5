package delivery

import (
	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/metrics"
)

// engineMetrics are the dispatcher's series; a nil *engineMetrics records
// nothing.
type engineMetrics struct {
	results                                  map[string]*metrics.Counter // by result: success or an attempt error code
	duration                                 *metrics.Histogram
	claimedN, handedN, completedN, deferredN *metrics.Counter
	perTenant                                *metrics.CounterFamily // nil unless Config.MetricsPerTenant
}

// countPerTenant adds the per-tenant attempt counters when on.
func (m *engineMetrics) countPerTenant(r *metrics.Registry, on bool) {
	if m != nil && on {
		m.perTenant = r.CounterFamily("hookd_tenant_delivery_attempts_total",
			"Delivery attempts per tenant and result (success or failure); only with --metrics-per-tenant.", "tenant", "result")
	}
}

// attemptResults are the values of the result label.
var attemptResults = []string{"success", hookd.AttemptErrTimeout, hookd.AttemptErrRefused,
	hookd.AttemptErrReset, hookd.AttemptErrTLS, hookd.AttemptErrDNS, hookd.AttemptErrBlockedTarget,
	hookd.AttemptErrRedirect, hookd.AttemptErrStatus, hookd.AttemptErrNetwork}

func newEngineMetrics(r *metrics.Registry, gauges func() (waiting, running, open int)) *engineMetrics {
	if r == nil {
		return nil
	}
	m := &engineMetrics{results: map[string]*metrics.Counter{}}
	for _, res := range attemptResults {
		m.results[res] = r.Counter(`hookd_delivery_attempts_total{result="`+res+`"}`,
			"Delivery attempts by result: success or the attempt's error code.")
	}
	m.duration = r.Histogram("hookd_delivery_attempt_duration_seconds",
		"Duration of delivery attempts, from the first byte sent to the last read.",
		[]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30})
	r.Gauge("hookd_delivery_in_flight", "Claimed messages waiting for a worker or being attempted.", func() float64 {
		waiting, running, _ := gauges()
		return float64(waiting + running)
	})
	r.Gauge("hookd_delivery_waiting", "Claimed messages waiting for a worker, their webhook's turn or its bound of attempts in flight.",
		func() float64 { waiting, _, _ := gauges(); return float64(waiting) })
	r.Gauge("hookd_delivery_circuits_open",
		"Webhooks whose attempts timed out or failed to connect several times in a row: one attempt at a time until one succeeds.",
		func() float64 { _, _, open := gauges(); return float64(open) })
	m.claimedN = r.Counter("hookd_delivery_claimed_total", "Messages claimed for delivery.")
	m.handedN = r.Counter("hookd_delivery_handed_total",
		"Messages leased to the engine as they were published, attempted without a claim.")
	m.completedN = r.Counter("hookd_delivery_completed_total", "Attempt outcomes recorded in the store.")
	m.deferredN = r.Counter("hookd_delivery_deferred_total",
		"Claimed messages given back unattempted: a rate limit or the webhook's pace would keep them past their lease, or the engine stopped.")
	return m
}

func (m *engineMetrics) attempt(res Result) {
	if m == nil {
		return
	}
	key := res.Attempt.Error
	if res.Attempt.Success {
		key = "success"
	}
	if c := m.results[key]; c != nil {
		c.Inc()
	}
	if m.perTenant != nil {
		result := "failure"
		if res.Attempt.Success {
			result = "success"
		}
		m.perTenant.With(res.Attempt.TenantID, result).Inc()
	}
	m.duration.Observe(res.Duration.Seconds())
}

func (m *engineMetrics) claimed(n int) {
	if m != nil && n > 0 {
		m.claimedN.Add(uint64(n))
	}
}

func (m *engineMetrics) handed(n int) {
	if m != nil && n > 0 {
		m.handedN.Add(uint64(n))
	}
}

func (m *engineMetrics) completed(n int) {
	if m != nil {
		m.completedN.Add(uint64(n))
	}
}

func (m *engineMetrics) deferred() {
	if m != nil {
		m.deferredN.Inc()
	}
}

func (m *engineMetrics) deferredMany(n int) {
	if m != nil && n > 0 {
		m.deferredN.Add(uint64(n))
	}
}
