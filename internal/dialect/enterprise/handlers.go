package enterprise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dialect"
)

// object reads r's body as a JSON object; an empty body is an empty object
// unless required.
func object(w http.ResponseWriter, r *http.Request, required bool) (*dialect.Object, error) {
	body, err := dialect.ReadBody(w, r)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		if required {
			return nil, hookd.Errorf(hookd.EINVALID, "a JSON object body is required")
		}
		return dialect.NewObject(nil), nil
	}
	m, err := dialect.ParseObject(body)
	if err != nil {
		return nil, err
	}
	return dialect.NewObject(m), nil
}

// suspendAfter reads a failureHandling object's suspendAfter.
func suspendAfter(o *dialect.Object, name string) (hookd.Duration, bool) {
	fh, ok := o.Object(name, false)
	if !ok {
		return 0, false
	}
	raw, ok := fh.Raw("suspendAfter", true)
	fh.Unknown()
	if !ok {
		return 0, false
	}
	var d hookd.Duration
	if d.UnmarshalJSON(raw) != nil {
		fh.Add(fh.Path("suspendAfter"), `must be a duration string like "90s", "5m" or "120h"`)
		return 0, false
	}
	return d, true
}

// validate checks wh by the native rules (Host.ValidateWebhook; kept: the
// event types before a PATCH) and adds their problems to o under the
// seed's field names; field renames a native field.
func (a *API) validate(ctx context.Context, o *dialect.Object, wh *hookd.Webhook, kept []string, field func(string) string) error {
	var he *hookd.Error
	if err := a.env.Host.ValidateWebhook(ctx, wh, kept); errors.As(err, &he) {
		for _, fe := range he.Fields {
			if f := field(fe.Field); !o.Covered(f) {
				o.AddMsg(f, fe.Msg())
			}
		}
	} else if err != nil {
		return err
	}
	return o.Err()
}

// seedField names a native field as the seed does: endpoint.url,
// endpoint.headers.X, failureHandling.suspendAfter, eventTypes[i].
func seedField(f string) string {
	switch {
	case f == "url":
		return "endpoint.url"
	case f == "headers" || strings.HasPrefix(f, "headers."):
		return "endpoint." + f
	case f == "failure_handling.suspend_after":
		return "failureHandling.suspendAfter"
	case f == "event_types" || strings.HasPrefix(f, "event_types["):
		return "eventTypes" + strings.TrimPrefix(f, "event_types")
	}
	return f
}

func (a *API) create(w http.ResponseWriter, r *http.Request, tenant string) error {
	o, err := object(w, r, true)
	if err != nil {
		return err
	}
	wh := hookd.NewWebhookDefaults()
	wh.TenantID = tenant
	wh.Name, _ = o.String("name", true)
	if v, ok := o.Bool("enabled", false); ok {
		wh.Enabled = v
	}
	if ep, ok := o.Object("endpoint", true); ok {
		wh.URL, _ = ep.String("url", true)
		wh.Headers, _ = ep.StringListMap("headers", false)
		ep.Unknown()
	}
	if d, ok := suspendAfter(o, "failureHandling"); ok {
		wh.FailureHandling.SuspendAfter = d
	}
	types, _ := o.Strings("eventTypes", true)
	wh.EventTypes = dedupe(types)
	o.Unknown()
	if err := a.validate(r.Context(), o, wh, nil, seedField); err != nil {
		return err
	}
	wh.Secrets = []hookd.Secret{{Value: hookd.NewSecret(), CreatedAt: a.env.Time()}}
	if err := a.env.Store.CreateWebhook(r.Context(), wh); err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, view(wh))
	return nil
}

func dedupe(s []string) []string {
	out := []string{}
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// webhookOf returns the tenant's webhook of the path's locator.
func (a *API) webhookOf(r *http.Request, tenant string) (*hookd.Webhook, error) {
	id := r.PathValue("webhookLocator")
	if !hookd.CheckText(id, "").IsZero() {
		return nil, hookd.Errorf(hookd.ENOTFOUND, "webhook not found")
	}
	return a.env.Store.GetWebhook(r.Context(), tenant, id)
}

func (a *API) get(w http.ResponseWriter, r *http.Request, tenant string) error {
	wh, err := a.webhookOf(r, tenant)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, view(wh))
	return nil
}

// patch applies UpdateWebhookRequest by the seed's add-remove semantics:
// the fields given replace, removals (removeHeaders, removeEventTypes,
// removeFailureHandling) happen first and additions (addHeaders,
// addEventTypes, failureHandling) after, so an item in both ends up
// present. A null member is left alone, like an absent one.
func (a *API) patch(w http.ResponseWriter, r *http.Request, tenant string) error {
	old, err := a.webhookOf(r, tenant)
	if err != nil {
		return err
	}
	o, err := object(w, r, false)
	if err != nil {
		return err
	}
	cp := *old
	wh := &cp
	if v, ok := o.String("name", false); ok {
		wh.Name = v
	}
	if v, ok := o.Bool("enabled", false); ok {
		wh.Enabled = v
	}
	var addHeaders map[string][]string
	if ep, ok := o.Object("endpoint", false); ok {
		if v, ok := ep.String("url", false); ok {
			wh.URL = v
		}
		if names, ok := ep.Strings("removeHeaders", false); ok {
			h := map[string][]string{}
			for k, v := range wh.Headers {
				if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, k) }) {
					h[k] = v
				}
			}
			wh.Headers = h
		}
		if v, ok := ep.StringListMap("addHeaders", false); ok {
			addHeaders = v
			wh.Headers = hookd.MergeHeaders(wh.Headers, v) // per name, names are case-insensitive
		}
		ep.Unknown()
	}
	if len(wh.Headers) == 0 {
		wh.Headers = nil
	}
	if v, ok := o.Bool("removeFailureHandling", false); ok && v {
		wh.FailureHandling.SuspendAfter = 0
	}
	if d, ok := suspendAfter(o, "failureHandling"); ok {
		wh.FailureHandling.SuspendAfter = d
	}
	removed, _ := o.Strings("removeEventTypes", false)
	added, _ := o.Strings("addEventTypes", false)
	wh.EventTypes = slices.DeleteFunc(slices.Clone(wh.EventTypes), func(t string) bool { return slices.Contains(removed, t) })
	wh.EventTypes = dedupe(append(wh.EventTypes, added...))
	o.Unknown()
	field := func(f string) string {
		switch {
		case strings.HasPrefix(f, "headers."):
			name, _, _ := strings.Cut(strings.TrimPrefix(f, "headers."), "[")
			if _, ok := addHeaders[name]; ok {
				return "endpoint.addHeaders." + strings.TrimPrefix(f, "headers.")
			}
		case strings.HasPrefix(f, "event_types["):
			i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(f, "event_types["), "]"))
			if err == nil && i < len(wh.EventTypes) {
				if j := slices.Index(added, wh.EventTypes[i]); j >= 0 {
					return fmt.Sprintf("addEventTypes[%d]", j)
				}
			}
			return "eventTypes"
		case f == "event_types":
			return "removeEventTypes" // the only way to none
		}
		return seedField(f)
	}
	if err := a.validate(r.Context(), o, wh, old.EventTypes, field); err != nil {
		return err
	}
	if err := a.env.Store.UpdateWebhook(r.Context(), wh); err != nil {
		return err
	}
	a.env.Wake()
	fresh, err := a.env.Store.GetWebhook(r.Context(), tenant, wh.ID)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, view(fresh))
	return nil
}

func (a *API) unsuspend(w http.ResponseWriter, r *http.Request, tenant string) error {
	wh, err := a.webhookOf(r, tenant)
	if err != nil {
		return err
	}
	if _, err := a.env.Store.SetSuspended(r.Context(), tenant, wh.ID, false, a.env.Time()); err != nil {
		return err
	}
	a.env.Wake()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) delete(w http.ResponseWriter, r *http.Request, tenant string) error {
	wh, err := a.webhookOf(r, tenant)
	if err != nil {
		return err
	}
	if err := a.env.Store.DeleteWebhook(r.Context(), tenant, wh.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Defaults and limits of the seed's lists.
const (
	DefaultCount = 100
	MaxCount     = 1000
)

// listQuery reads a list's query: the parameters it takes (params; any
// other is a 400), offset (≥ 0, default 0) and count (1..MaxCount,
// default DefaultCount). Every problem is added to f.
func listQuery(r *http.Request, params []string, f *hookd.Fields) (q url.Values, offset, count int, err error) {
	q, err = url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, 0, 0, hookd.Errorf(hookd.EINVALID, "malformed query string")
	}
	for _, name := range sortedKeys(q) {
		msg := hookd.CheckText(name, "name")
		for _, v := range q[name] {
			if msg.IsZero() {
				msg = hookd.CheckText(v, "")
			}
		}
		switch {
		case !msg.IsZero():
			f.AddMsg(name, msg)
			delete(q, name)
		case !slices.Contains(params, name):
			f.Add(name, "is not a query parameter of this list, which takes %s", strings.Join(params, ", "))
			delete(q, name)
		}
	}
	offset, count = 0, DefaultCount
	if v, ok := q["offset"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v[0]))
		if err != nil || n < 0 || len(v) > 1 {
			f.Add("offset", "must be an integer of at least 0")
		} else {
			offset = n
		}
	}
	if v, ok := q["count"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v[0]))
		if err != nil || n < 1 || n > MaxCount || len(v) > 1 {
			f.Add("count", "must be an integer between 1 and 1000")
		} else {
			count = n
		}
	}
	return q, offset, count, nil
}

func sortedKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// queryBool reads a boolean parameter, nil when absent.
func queryBool(q url.Values, name string, f *hookd.Fields) *bool {
	v, ok := q[name]
	if !ok {
		return nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v[0]))
	if err != nil || len(v) > 1 {
		f.Add(name, "must be true or false")
		return nil
	}
	return &b
}

// listParams are the parameters of the webhooks' list.
var listParams = []string{"offset", "count", "name", "enabled", "suspended", "active", "eventTypes"}

func (a *API) list(w http.ResponseWriter, r *http.Request, tenant string) error {
	var f hookd.Fields
	q, offset, count, err := listQuery(r, listParams, &f)
	if err != nil {
		return err
	}
	filter := hookd.WebhookFilter{TenantID: tenant, Name: q.Get("name"), Enabled: queryBool(q, "enabled", &f),
		Suspended: queryBool(q, "suspended", &f), Active: queryBool(q, "active", &f)}
	for _, v := range q["eventTypes"] {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				filter.EventTypes = append(filter.EventTypes, t)
			}
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	items, _, err := dialect.Webhooks(r.Context(), a.env.Store, filter, nil, offset, count, false)
	if err != nil {
		return err
	}
	out := make([]webhook, len(items))
	for i, wh := range items {
		out[i] = view(wh)
	}
	dialect.WriteJSON(w, http.StatusOK, out)
	return nil
}

// divertedParams are the parameters of the diverted events' list.
var divertedParams = []string{"offset", "count", "webhookLocator"}

// diverted lists the failed messages, oldest first, each with its event's
// payload.
func (a *API) diverted(w http.ResponseWriter, r *http.Request, tenant string) error {
	var f hookd.Fields
	q, offset, count, err := listQuery(r, divertedParams, &f)
	if err != nil {
		return err
	}
	if err := f.Err(); err != nil {
		return err
	}
	filter := hookd.MessageFilter{States: []hookd.MessageState{hookd.StateFailed}, WebhookID: q.Get("webhookLocator")}
	msgs, _, err := dialect.Messages(r.Context(), a.env.Store, tenant, filter, offset, count, false)
	if err != nil {
		return err
	}
	out := make([]divertedEvent, len(msgs))
	for i, m := range msgs {
		d := divertedEvent{Locator: m.ID, WebhookLocator: m.WebhookID, EventType: m.EventType, Payload: json.RawMessage("null"),
			FailedAt: m.UpdatedAt.UTC(), Attempts: m.AttemptCount}
		if m.LastAttemptAt != nil {
			d.FailedAt = m.LastAttemptAt.UTC()
		}
		if m.LastError != "" {
			d.LastError = &m.LastError
		}
		ev, err := a.env.Store.GetEvent(r.Context(), tenant, m.EventID)
		switch {
		case err == nil && len(ev.Payload) > 0:
			d.Payload = ev.Payload
		case err != nil && hookd.ErrorCode(err) != hookd.ENOTFOUND:
			return err
		}
		out[i] = d
	}
	dialect.WriteJSON(w, http.StatusOK, out)
	return nil
}

// divertedOf returns the tenant's failed message of the path's locator.
func (a *API) divertedOf(r *http.Request, tenant string) (*hookd.Message, error) {
	id := r.PathValue("locator")
	notFound := hookd.Errorf(hookd.ENOTFOUND, "diverted event not found")
	if !hookd.CheckText(id, "").IsZero() {
		return nil, notFound
	}
	m, err := a.env.Store.GetMessage(r.Context(), tenant, id)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND || err == nil && m.State != hookd.StateFailed {
		return nil, notFound
	}
	return m, err
}

// retryDiverted delivers a diverted event again (a manual retry with a
// fresh retry budget).
func (a *API) retryDiverted(w http.ResponseWriter, r *http.Request, tenant string) error {
	m, err := a.divertedOf(r, tenant)
	if err != nil {
		return err
	}
	if _, err := a.env.Store.RetryMessage(r.Context(), tenant, m.ID, a.env.Time()); err != nil {
		return err
	}
	a.env.Wake()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteDiverted dismisses a diverted event: the message is resolved.
func (a *API) deleteDiverted(w http.ResponseWriter, r *http.Request, tenant string) error {
	m, err := a.divertedOf(r, tenant)
	if err != nil {
		return err
	}
	if _, err := a.env.Store.ResolveMessage(r.Context(), tenant, m.ID, a.env.Time()); err != nil {
		return err
	}
	a.env.Wake()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
