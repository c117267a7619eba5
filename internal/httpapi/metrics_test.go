package httpapi_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// hookd_events_published_total counts stored events; per tenant only with
// MetricsPerTenant.
func TestPublishedCounters(t *testing.T) {
	t.Parallel()
	for _, perTenant := range []bool{false, true} {
		t.Run(fmt.Sprint(perTenant), func(t *testing.T) {
			t.Parallel()
			db := MustOpenDB(t)
			e := &env{t: t, deliv: &fakeDeliverer{}}
			e.api = newAPI(t, db, e.deliv)
			e.api.MetricsPerTenant = perTenant
			e.srv = httptest.NewServer(e.api.Handler())
			t.Cleanup(e.srv.Close)
			e.mustTenant("acme")
			e.mustTenant("other")
			const ev = "/v1/tenants/acme/events"
			e.do("POST", ev, rootToken, map[string]any{"type": "a", "idempotency_key": "k1"}).want(t, 202)
			e.do("POST", ev, rootToken, map[string]any{"type": "a", "idempotency_key": "k1"}).want(t, 200) // duplicate
			e.do("POST", ev+"/batch", rootToken, map[string]any{"events": []any{
				map[string]any{"type": "a"}, map[string]any{"type": "a", "idempotency_key": "k1"}, map[string]any{"type": "a"}}}).want(t, 202)
			e.do("POST", "/v1/tenants/other/events", rootToken, map[string]any{"type": "a"}).want(t, 202)
			e.do("POST", ev, rootToken, map[string]any{"type": "a b"}).want(t, 400)
			m := string(e.do("GET", "/metrics", "", nil).want(t, 200).Body)
			if !strings.Contains(m, "hookd_events_published_total 4\n") {
				t.Errorf("global counter:\n%s", m)
			}
			for _, want := range []string{`hookd_tenant_events_published_total{tenant="acme"} 3`, `hookd_tenant_events_published_total{tenant="other"} 1`} {
				if strings.Contains(m, want) != perTenant {
					t.Errorf("per tenant %v: has %q = %v:\n%s", perTenant, want, !perTenant, m)
				}
			}
		})
	}
}
