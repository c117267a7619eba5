package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/hookd/hookd"
)

// MaxBatchEvents is the most events one batch may publish.
const MaxBatchEvents = 1000

// compact returns raw without insignificant white space (raw is valid JSON).
func compact(raw json.RawMessage) json.RawMessage {
	if !bytes.ContainsAny(raw, " \t\r\n") {
		return raw // nothing to take out: save the copy
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// eventView is an event as published.
type eventView struct {
	ID             string            `json:"id"`
	TenantID       string            `json:"tenant_id"`
	Type           string            `json:"type"`
	Payload        json.RawMessage   `json:"payload"`
	Group          *string           `json:"group"`
	Attributes     map[string]string `json:"attributes"`
	IdempotencyKey *string           `json:"idempotency_key"`
	CreatedAt      time.Time         `json:"created_at"`
}

func viewEvent(e *hookd.Event) eventView {
	v := eventView{ID: e.ID, TenantID: e.TenantID, Type: e.Type, Payload: e.Payload,
		Attributes: e.Attributes, CreatedAt: e.CreatedAt.UTC()}
	if len(v.Payload) == 0 {
		v.Payload = json.RawMessage("null")
	}
	if v.Attributes == nil {
		v.Attributes = map[string]string{}
	}
	if e.Group != "" {
		v.Group = &e.Group
	}
	if e.IdempotencyKey != "" {
		v.IdempotencyKey = &e.IdempotencyKey
	}
	return v
}

// eventBodyLimit is the body limit of one event: room for a pretty-printed
// payload at the limit and the other fields.
func (s *Server) eventBodyLimit() int64 { return int64(s.maxPayload())*2 + 64<<10 }

// batchBodyLimit is the body limit of a batch.
func (s *Server) batchBodyLimit() int64 {
	if n := int64(s.maxPayload()) * 4; n > minBatchLimit {
		return n
	}
	return minBatchLimit
}

// parseEvent reads one event's fields from o; the rules are checked by
// checkEvents.
func parseEvent(o *obj) hookd.EventInput {
	in := hookd.EventInput{Payload: json.RawMessage("null")}
	o.str("type", &in.Type)
	if raw, ok := o.get("payload"); ok {
		in.Payload = compact(raw)
	}
	o.str("group", &in.Group)
	if m, ok := o.strMap("attributes"); ok && len(m) > 0 {
		in.Attributes = m
	}
	o.str("idempotency_key", &in.IdempotencyKey)
	o.unknown()
	return in
}

// checkEvents validates parsed events: payloads over the limit are 413,
// everything else one 400. Unless tenant is "" (a webhook test, which
// publishes nothing), the events must also follow the tenant's event type
// catalogue (see checkCatalog); an event whose type is already invalid is
// not checked against it.
func (s *Server) checkEvents(ctx context.Context, tenant string, o *obj, ins []hookd.EventInput, prefix func(i int) string) error {
	var big hookd.Fields
	for i, in := range ins {
		if len(in.Payload) > s.maxPayload() {
			big.Add(prefix(i)+"payload", "must be at most %d bytes", s.maxPayload())
		}
	}
	if len(big) > 0 {
		e := hookd.Errorf(hookd.ETOOLARGE, "payload larger than %d bytes", s.maxPayload())
		e.Fields = big
		return e
	}
	var f hookd.Fields
	for i := range ins {
		ins[i].Check(prefix(i), s.maxPayload(), &f)
	}
	if tenant != "" {
		// Published, not a test: hookd's operational types are its own.
		for i := range ins {
			hookd.CheckPublishable(ins[i].Type, prefix(i), &f)
		}
		var cf hookd.Fields
		if err := s.checkCatalog(ctx, tenant, ins, prefix, &cf); err != nil {
			return err
		}
		for _, fe := range cf {
			if !slices.ContainsFunc(f, func(x hookd.FieldError) bool { return x.Field == fe.Field }) {
				f = append(f, fe)
			}
		}
	}
	if err := o.mergeValidation(f.Err()); err != nil {
		return err
	}
	return o.err()
}

func (s *Server) publishEvent(w http.ResponseWriter, r *http.Request, c *call) error {
	o, err := s.readObject(w, r, s.eventBodyLimit(), true)
	if err != nil {
		return err
	}
	in := parseEvent(o)
	if h := r.Header.Get("Idempotency-Key"); h != "" {
		switch {
		case in.IdempotencyKey == "":
			in.IdempotencyKey = h
		case in.IdempotencyKey != h:
			o.add("idempotency_key", "differs from the Idempotency-Key header")
		}
	}
	ins := []hookd.EventInput{in}
	if err := s.checkEvents(r.Context(), c.tenant, o, ins, func(int) string { return "" }); err != nil {
		return err
	}
	res, err := s.Store.Publish(r.Context(), c.tenant, ins, s.now())
	if err != nil {
		return err
	}
	if len(res) != 1 {
		return fmt.Errorf("publish: %d results for 1 event", len(res))
	}
	if res[0].Duplicate {
		writeJSON(w, http.StatusOK, res[0])
		return nil
	}
	s.countPublished(c.tenant, res)
	s.wake()
	s.streams.published(c.tenant)
	writeJSON(w, http.StatusAccepted, res[0])
	return nil
}

func (s *Server) publishBatch(w http.ResponseWriter, r *http.Request, c *call) error {
	o, err := s.readObject(w, r, s.batchBodyLimit(), true)
	if err != nil {
		return err
	}
	if r.Header.Get("Idempotency-Key") != "" {
		o.add("Idempotency-Key", "is not supported for batches; give each event an idempotency_key")
	}
	var ins []hookd.EventInput
	listed := o.list("events", func(p string, raw json.RawMessage) {
		m, ok := members(raw)
		if !ok {
			o.add(p, "must be an object")
			ins = append(ins, hookd.EventInput{Type: "x"}) // keeps indexes aligned; never published
			return
		}
		ins = append(ins, parseEvent(o.child(m, p)))
	})
	switch {
	case !listed && !o.bad["events"]:
		o.add("events", "is required")
	case listed && (len(ins) == 0 || len(ins) > MaxBatchEvents):
		o.add("events", "must have 1..%d events", MaxBatchEvents)
	}
	o.unknown()
	if err := s.checkEvents(r.Context(), c.tenant, o, ins, func(i int) string { return fmt.Sprintf("events[%d].", i) }); err != nil {
		return err
	}
	res, err := s.Store.Publish(r.Context(), c.tenant, ins, s.now())
	if err != nil {
		return err
	}
	s.countPublished(c.tenant, res)
	s.wake()
	s.streams.published(c.tenant)
	writeJSON(w, http.StatusAccepted, map[string]any{"data": res})
	return nil
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request, c *call) error {
	e, err := s.Store.GetEvent(r.Context(), c.tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewEvent(e))
	return nil
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	return listing[*hookd.Event, eventView]{
		params: []string{"type", "since", "until"},
		filter: func(q url.Values, f *hookd.Fields) fetchPage[*hookd.Event] {
			filter := hookd.EventFilter{Type: q.Get("type"), Since: queryTime(q, "since", f), Until: queryTime(q, "until", f)}
			return func(ctx context.Context, p hookd.Page) ([]*hookd.Event, error) {
				filter.Page = p
				return s.Store.ListEvents(ctx, c.tenant, filter)
			}
		},
		id:   func(e *hookd.Event) string { return e.ID },
		view: viewEvent,
	}.serve(w, r)
}

// countPublished counts the events of res that were stored (not
// duplicates) in the metrics.
func (s *Server) countPublished(tenant string, res []hookd.PublishResult) {
	if s.published == nil {
		return
	}
	n := 0
	for _, r := range res {
		if !r.Duplicate {
			n++
		}
	}
	s.published.Add(uint64(n))
	if s.perTenant != nil && n > 0 {
		s.perTenant.With(tenant).Add(uint64(n))
	}
}
