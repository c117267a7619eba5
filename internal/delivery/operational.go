package delivery

import (
	"log/slog"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/metrics"
)

// OperationalReporter tells the operator of hookd's operational events
// (see hookd's operational.go), which the store publishes into the
// tenants with the changes that cause them: one log line at warn per
// event, and the counter hookd_operational_events_total{type}. Set its
// Observe as the store's operational observer
// (hookd.OperationalEventStore).
type OperationalReporter struct {
	log    *slog.Logger
	counts map[string]*metrics.Counter // by type; nil without a registry
}

// NewOperationalReporter returns a reporter that logs to log (nil:
// slog.Default()) and counts in reg (nil: no metric). Every type's series
// exists from the start, at 0, so that a rate over it is defined before
// the first event.
func NewOperationalReporter(log *slog.Logger, reg *metrics.Registry) *OperationalReporter {
	if log == nil {
		log = slog.Default()
	}
	r := &OperationalReporter{log: log}
	if reg != nil {
		r.counts = map[string]*metrics.Counter{}
		for _, typ := range hookd.OperationalEventTypes {
			r.counts[typ] = reg.Counter(`hookd_operational_events_total{type="`+typ+`"}`,
				"Operational events published into the tenants (webhook suspended, unsuspended, failing, recovered; message failed for good).")
		}
	}
	return r
}

// ReportOperationalEvents makes store report its operational events to a
// new OperationalReporter of log and reg, if it publishes any (is a
// hookd.OperationalEventStore), and returns the reporter (nil if not).
func ReportOperationalEvents(store hookd.Store, log *slog.Logger, reg *metrics.Registry) *OperationalReporter {
	os, ok := store.(hookd.OperationalEventStore)
	if !ok {
		return nil
	}
	r := NewOperationalReporter(log, reg)
	os.SetOperationalObserver(r.Observe)
	return r
}

// Observe logs and counts committed operational events. The line names
// the event, its tenant, webhook and message, never a URL (its path or
// query may be a credential of the receiver's) nor anything of the
// payloads.
func (r *OperationalReporter) Observe(evs []hookd.OperationalEvent) {
	for i := range evs {
		e := &evs[i]
		if c := r.counts[e.Type]; c != nil {
			c.Inc()
		}
		attrs := []any{"type", e.Type, "tenant_id", e.TenantID, "webhook_id", e.WebhookID,
			"webhook_number", e.Payload.Webhook.Number}
		if e.MessageID != "" {
			attrs = append(attrs, "message_id", e.MessageID)
		}
		if e.Payload.Trigger != "" {
			attrs = append(attrs, "trigger", e.Payload.Trigger)
		}
		if a := e.Payload.LastAttempt; a != nil && a.StatusCode != nil {
			attrs = append(attrs, "status_code", *a.StatusCode)
		}
		if a := e.Payload.LastAttempt; a != nil && a.Error != nil {
			attrs = append(attrs, "error", *a.Error)
		}
		attrs = append(attrs, "event_id", e.EventID)
		r.log.Warn("operational event", attrs...)
	}
}
