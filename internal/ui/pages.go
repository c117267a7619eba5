package ui

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
	"github.com/hookd/hookd/internal/catalog"
	"github.com/hookd/hookd/internal/httpapi"
)

// Page sizes and bounds. Every page reads an index range of at most these.
const (
	pageSize   = 50
	countLimit = 10000 // counts above it show as "10 000+"
	scanLimit  = 5000  // messages a filter without an index examines per page
	rootLimit  = 1000  // the root overview's counts, one row per tenant
)

// --- overview ---

type tenantRow struct {
	Tenant   *hookd.Tenant
	Messages hookd.MessageCounts
	Webhooks hookd.WebhookCounts
}

type overviewPage struct {
	Rows  []tenantRow
	Next  string
	Limit int
}

// overview is the root's list of tenants with their counts, or the
// session's own tenant.
func (s *Server) overview(w http.ResponseWriter, r *http.Request, v *view) error {
	if !v.ses.caller.Root {
		http.Redirect(w, r, "/ui/t/"+url.PathEscape(v.ses.caller.TenantID)+"/", http.StatusSeeOther)
		return nil
	}
	after := r.URL.Query().Get("after")
	ts, err := s.Store.ListTenants(r.Context(), hookd.Page{Limit: pageSize + 1, After: after})
	if err != nil {
		return err
	}
	p := overviewPage{Limit: rootLimit}
	if len(ts) > pageSize {
		ts = ts[:pageSize]
		p.Next = ts[pageSize-1].ID
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	mc, err := s.Store.CountMessages(r.Context(), ids, hookd.MinID(hookd.PrefixMessage, v.now.Add(-24*time.Hour)), rootLimit)
	if err != nil {
		return err
	}
	wc, err := s.Store.CountWebhooks(r.Context(), ids)
	if err != nil {
		return err
	}
	for i, t := range ts {
		p.Rows = append(p.Rows, tenantRow{Tenant: t, Messages: mc[i], Webhooks: wc[i]})
	}
	v.Title, v.Section = v.T("nav.overview"), "overview"
	s.render(w, v, "overview", http.StatusOK, p)
	return nil
}

type tenantPage struct {
	Messages hookd.MessageCounts
	Webhooks hookd.WebhookCounts
	Limit    int
	Day      hookd.HealthPoint
	Chart    chart
	Failing  []*hookd.Webhook
}

// tenantOverview is one tenant's counts of the last 24 h and its delivery
// chart.
func (s *Server) tenantOverview(w http.ResponseWriter, r *http.Request, v *view) error {
	t := v.Tenant.ID
	p := tenantPage{Limit: countLimit}
	mc, err := s.Store.CountMessages(r.Context(), []string{t}, hookd.MinID(hookd.PrefixMessage, v.now.Add(-24*time.Hour)), countLimit)
	if err != nil {
		return err
	}
	wc, err := s.Store.CountWebhooks(r.Context(), []string{t})
	if err != nil {
		return err
	}
	p.Messages, p.Webhooks = mc[0], wc[0]
	since := daySince(v.now)
	h, err := s.Store.WebhookHealth(r.Context(), t, nil, since, v.now, time.Hour)
	if err != nil {
		return err
	}
	byHour := map[time.Time]*hookd.HealthPoint{}
	for _, wh := range h {
		p.Day.Attempts += wh.Total.Attempts
		p.Day.Successes += wh.Total.Successes
		p.Day.Latency.Add(wh.Total.Latency)
		for _, pt := range wh.Points {
			agg := byHour[pt.Start]
			if agg == nil {
				agg = &hookd.HealthPoint{Start: pt.Start}
				byHour[pt.Start] = agg
			}
			agg.Attempts += pt.Attempts
			agg.Successes += pt.Successes
		}
	}
	p.Chart = deliveryChart(v, since, time.Hour, chartHours, byHour)
	if p.Webhooks.Failing > 0 || p.Webhooks.Suspended > 0 {
		hooks, err := s.Store.ListWebhooks(r.Context(), hookd.WebhookFilter{TenantID: t, Page: hookd.Page{Limit: 200}})
		if err != nil {
			return err
		}
		for _, wh := range hooks {
			if wh.Suspended || wh.FailingSince != nil {
				p.Failing = append(p.Failing, wh)
			}
		}
	}
	v.Title, v.Section = v.Tenant.ID, "overview"
	s.render(w, v, "tenant", http.StatusOK, p)
	return nil
}

// --- webhooks ---

type webhookRow struct {
	W       *hookd.Webhook
	Hour    hookd.HealthPoint
	Day     hookd.HealthPoint
	Spark   chart
	Pattern string
}

type webhooksPage struct {
	Rows     []webhookRow
	Next     string
	Q        url.Values
	Filtered bool
}

func queryBool(q url.Values, name string) *bool {
	switch q.Get(name) {
	case "true":
		return hookd.Ptr(true)
	case "false":
		return hookd.Ptr(false)
	}
	return nil
}

// webhooks lists the tenant's webhooks with the API's filters and each
// one's health: two queries, the webhooks and their statistics.
func (s *Server) webhooks(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	f := hookd.WebhookFilter{TenantID: v.Tenant.ID, Page: hookd.Page{Limit: pageSize + 1, After: q.Get("after")},
		Name: q.Get("name"), Enabled: queryBool(q, "enabled"), Suspended: queryBool(q, "suspended")}
	if u := strings.TrimSpace(q.Get("url")); u != "" {
		f.URLPrefix = u
	}
	if et := strings.TrimSpace(q.Get("event_type")); et != "" {
		f.EventTypes = []string{et}
	}
	hooks, err := s.Store.ListWebhooks(r.Context(), f)
	if err != nil {
		return err
	}
	p := webhooksPage{Q: q, Filtered: f.Name != "" || f.URLPrefix != "" || f.Enabled != nil || f.Suspended != nil || len(f.EventTypes) > 0}
	if len(hooks) > pageSize {
		hooks = hooks[:pageSize]
		p.Next = hooks[pageSize-1].ID
	}
	ids := make([]string, len(hooks))
	for i, wh := range hooks {
		ids[i] = wh.ID
	}
	since := daySince(v.now)
	health := map[string]*hookd.Health{}
	if len(ids) > 0 {
		if health, err = s.Store.WebhookHealth(r.Context(), v.Tenant.ID, ids, since, v.now, time.Hour); err != nil {
			return err
		}
	}
	hour, err := s.lastHour(r, v, ids)
	if err != nil {
		return err
	}
	for _, wh := range hooks {
		row := webhookRow{W: wh, Pattern: strings.Join(wh.EventTypes, ", "), Hour: hour[wh.ID]}
		byHour := map[time.Time]*hookd.HealthPoint{}
		if h := health[wh.ID]; h != nil {
			row.Day = h.Total
			for i := range h.Points {
				pt := &h.Points[i]
				byHour[pt.Start] = pt
			}
		}
		row.Spark = sparkline(v, since, time.Hour, chartHours, byHour)
		row.Spark.ID = "spark-" + wh.ID
		p.Rows = append(p.Rows, row)
	}
	v.Title, v.Section = v.T("nav.webhooks"), "webhooks"
	s.render(w, v, "webhooks", http.StatusOK, p)
	return nil
}

// lastHour sums the webhooks' statistics of the last hour (to the 5-minute
// bucket), one point each: the "last hour" figures, not the chart's last
// two hourly slots.
func (s *Server) lastHour(r *http.Request, v *view, ids []string) (map[string]hookd.HealthPoint, error) {
	out := map[string]hookd.HealthPoint{}
	if len(ids) == 0 {
		return out, nil
	}
	since := v.now.Add(-time.Hour).Truncate(hookd.StatsBucket)
	h, err := s.Store.WebhookHealth(r.Context(), v.Tenant.ID, ids, since, v.now, 2*time.Hour)
	if err != nil {
		return nil, err
	}
	for id, x := range h {
		out[id] = x.Total
	}
	return out, nil
}

// webhookForm is the create/edit form's values and its errors by field.
type webhookForm struct {
	New                                  bool
	Name, Description, URL               string
	Enabled, Grouped, ContinueOnFailure  bool
	EventTypes, Filter, Headers          string
	AuthType, AuthUsername               string
	AuthSecretSet                        bool
	TimeoutMS, MaxRetries, RetrySchedule string
	SuspendAfter, RateLimit, Secret      string
	Errors                               map[string][]string
	Summary                              []string
	Raw                                  url.Values
}

// Err returns the messages of a form field, for the template.
func (f *webhookForm) Err(field string) []string { return f.Errors[field] }

func formOf(wh *hookd.Webhook) *webhookForm {
	f := &webhookForm{Name: wh.Name, Description: wh.Description, URL: wh.URL, Enabled: wh.Enabled,
		Grouped: wh.Grouped, ContinueOnFailure: wh.ContinueOnFailure, EventTypes: strings.Join(wh.EventTypes, "\n"),
		TimeoutMS: strconv.Itoa(wh.TimeoutMS), MaxRetries: strconv.Itoa(wh.MaxRetries),
		SuspendAfter: fmtDuration(time.Duration(wh.FailureHandling.SuspendAfter)), AuthType: "none"}
	var lines []string
	for _, k := range sortedKeys(wh.Filter) {
		lines = append(lines, k+"="+wh.Filter[k])
	}
	f.Filter = strings.Join(lines, "\n")
	lines = nil
	for _, k := range sortedKeys(wh.Headers) {
		for _, val := range wh.Headers[k] {
			lines = append(lines, k+": "+val)
		}
	}
	f.Headers = strings.Join(lines, "\n")
	var sched []string
	for _, d := range wh.RetrySchedule {
		sched = append(sched, fmtDuration(time.Duration(d)))
	}
	f.RetrySchedule = strings.Join(sched, ", ")
	if wh.RateLimit > 0 {
		f.RateLimit = strconv.Itoa(wh.RateLimit)
	}
	if wh.Auth != nil {
		f.AuthType, f.AuthUsername, f.AuthSecretSet = wh.Auth.Type, wh.Auth.Username, true
	}
	return f
}

func fmtDuration(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return "0s"
	}
	return s
}

// number is a form value as JSON: a number when it is one, else the text
// (which the API's decoder then names: "must be an integer").
func number(v string) any {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n
	}
	return v
}

// formBody turns the form into the API's JSON body, so that the API's
// decoder validates it with its own messages. Lines it cannot split go
// into lineErrs by field.
func formBody(form url.Values, old *hookd.Webhook, v *view) ([]byte, *webhookForm) {
	f := &webhookForm{Name: form.Get("name"), Description: form.Get("description"), URL: form.Get("url"),
		Enabled: form.Get("enabled") != "", Grouped: form.Get("grouped") != "", ContinueOnFailure: form.Get("continue_on_failure") != "",
		EventTypes: form.Get("event_types"), Filter: form.Get("filter"), Headers: form.Get("headers"),
		AuthType: form.Get("auth_type"), AuthUsername: form.Get("auth_username"), TimeoutMS: form.Get("timeout_ms"),
		MaxRetries: form.Get("max_retries"), RetrySchedule: form.Get("retry_schedule"), SuspendAfter: form.Get("suspend_after"),
		RateLimit: form.Get("rate_limit"), Secret: form.Get("secret"), Errors: map[string][]string{}, Raw: form}
	body := map[string]any{"name": f.Name, "description": f.Description, "url": strings.TrimSpace(f.URL), "enabled": f.Enabled,
		"grouped": f.Grouped, "continue_on_failure": f.ContinueOnFailure}
	types := []string{}
	for _, t := range strings.FieldsFunc(f.EventTypes, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' }) {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, t)
		}
	}
	body["event_types"] = types
	filter := map[string]string{}
	for i, line := range lines(f.Filter) {
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			f.Errors["filter"] = append(f.Errors["filter"], v.Tf("form.filter.line", i+1))
			continue
		}
		filter[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	body["filter"] = filter
	headers := map[string][]string{}
	for i, line := range lines(f.Headers) {
		k, val, ok := strings.Cut(line, ":")
		if !ok {
			f.Errors["headers"] = append(f.Errors["headers"], v.Tf("form.headers.line", i+1))
			continue
		}
		k = strings.TrimSpace(k)
		headers[k] = append(headers[k], strings.TrimSpace(val))
	}
	body["headers"] = headers
	switch f.AuthType {
	case "basic", "bearer":
		a := map[string]any{"type": f.AuthType}
		pw, tok := form.Get("auth_password"), form.Get("auth_token")
		keep := old != nil && old.Auth != nil && old.Auth.Type == f.AuthType
		if f.AuthType == "basic" {
			a["username"] = f.AuthUsername
			if pw == "" && keep {
				pw = old.Auth.Password
			}
			a["password"] = pw
		} else {
			if tok == "" && keep {
				tok = old.Auth.Token
			}
			a["token"] = tok
		}
		body["auth"] = a
	default:
		body["auth"] = nil
	}
	if t := strings.TrimSpace(f.TimeoutMS); t != "" {
		body["timeout_ms"] = number(t)
	}
	if t := strings.TrimSpace(f.MaxRetries); t != "" {
		body["max_retries"] = number(t)
	}
	sched := []string{}
	for _, d := range strings.Split(f.RetrySchedule, ",") {
		if d = strings.TrimSpace(d); d != "" {
			sched = append(sched, d)
		}
	}
	if len(sched) > 0 {
		body["retry_schedule"] = sched
	}
	if t := strings.TrimSpace(f.SuspendAfter); t != "" {
		body["failure_handling"] = map[string]any{"suspend_after": t}
	}
	if t := strings.TrimSpace(f.RateLimit); t != "" {
		body["rate_limit"] = number(t)
	}
	if old == nil && strings.TrimSpace(f.Secret) != "" {
		body["secrets"] = []string{strings.TrimSpace(f.Secret)}
	}
	b, _ := json.Marshal(body)
	return b, f
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// formField maps an API field path to the form's field: "event_types[1]"
// is event_types, "auth.password" auth_password.
func formField(path string) string {
	switch {
	case strings.HasPrefix(path, "failure_handling"):
		return "suspend_after"
	case strings.HasPrefix(path, "auth."):
		return "auth_" + strings.TrimPrefix(path, "auth.")
	case path == "auth":
		return "auth_type"
	case strings.HasPrefix(path, "secrets"):
		return "secret"
	}
	if i := strings.IndexAny(path, "[."); i > 0 {
		return path[:i]
	}
	return path
}

// addErrors puts a validation error's messages beside their fields, the
// API's own words, with the item they are about ("event_types[1]: …").
func (f *webhookForm) addErrors(err error, v *view) bool {
	var he *hookd.Error
	if !errors.As(err, &he) {
		return false
	}
	switch he.Code {
	case hookd.EINVALID:
		for _, fe := range he.Fields {
			field := formField(fe.Field)
			msg := fieldMessage(v.Lang, fe)
			if fe.Field != field && !strings.HasPrefix(fe.Field, "auth.") && !strings.HasPrefix(fe.Field, "failure_handling") {
				msg = fe.Field + ": " + msg
			}
			f.Errors[field] = append(f.Errors[field], msg)
		}
		if len(he.Fields) == 0 {
			f.Summary = append(f.Summary, errorMessage(v.Lang, he))
		}
		return true
	case hookd.ECONFLICT:
		f.Errors["url"] = append(f.Errors["url"], errorMessage(v.Lang, he))
		return true
	}
	return false
}

type webhookPage struct {
	W        *hookd.Webhook
	Form     *webhookForm
	Hour     hookd.HealthPoint
	Day      hookd.HealthPoint
	Rate     chart
	Latency  chart
	Secrets  []string
	Test     *hookd.Attempt
	TestErr  string
	Recovery recoverForm
	Types    string
}

type recoverForm struct {
	Since, Until string
	Errors       map[string][]string
}

func (s *Server) newWebhook(w http.ResponseWriter, r *http.Request, v *view) error {
	f := formOf(hookd.NewWebhookDefaults())
	f.New = true
	f.EventTypes = "*"
	v.Title, v.Section = v.T("webhook.new"), "webhooks"
	s.render(w, v, "webhook", http.StatusOK, webhookPage{Form: f})
	return nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, v *view) error {
	body, f := formBody(r.PostForm, nil, v)
	f.New = true
	now := s.now()
	wh, err := httpapi.DecodeWebhook(r.Context(), s.Targets, s.Store, v.Tenant.ID, body, nil, now)
	if err == nil && len(f.Errors) > 0 {
		err = hookd.Errorf(hookd.EINVALID, "invalid lines")
	}
	if err == nil {
		wh.TenantID = v.Tenant.ID
		if len(wh.Secrets) == 0 {
			wh.Secrets = []hookd.Secret{{Value: hookd.NewSecret(), CreatedAt: now}}
		}
		err = s.Store.CreateWebhook(r.Context(), wh)
	}
	if err != nil {
		if !f.addErrors(err, v) {
			return err
		}
		v.Title, v.Section = v.T("webhook.new"), "webhooks"
		s.render(w, v, "webhook", http.StatusUnprocessableEntity, webhookPage{Form: f})
		return nil
	}
	http.Redirect(w, r, v.TenantURL("/webhooks/"+wh.ID+"?done=created"), http.StatusSeeOther)
	return nil
}

// webhookPageOf reads what the webhook's page shows beside the form: its
// health over the last hour and day.
func (s *Server) webhookPageOf(r *http.Request, v *view, wh *hookd.Webhook) (webhookPage, error) {
	p := webhookPage{W: wh, Form: formOf(wh), Types: "webhook.test"}
	since := daySince(v.now)
	h, err := s.Store.WebhookHealth(r.Context(), v.Tenant.ID, []string{wh.ID}, since, v.now, time.Hour)
	if err != nil {
		return p, err
	}
	byHour := map[time.Time]*hookd.HealthPoint{}
	if x := h[wh.ID]; x != nil {
		p.Day = x.Total
		for i := range x.Points {
			pt := &x.Points[i]
			byHour[pt.Start] = pt
		}
	}
	hour, err := s.lastHour(r, v, []string{wh.ID})
	if err != nil {
		return p, err
	}
	p.Hour = hour[wh.ID]
	p.Rate = rateChart(v, since, time.Hour, chartHours, byHour)
	p.Latency = latencyChart(v, since, time.Hour, chartHours, byHour)
	p.Recovery = recoverForm{Since: v.now.Add(-24 * time.Hour).Format("2006-01-02T15:04"), Until: v.now.Format("2006-01-02T15:04")}
	return p, nil
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request, v *view) error {
	wh, err := s.Store.GetWebhook(r.Context(), v.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := s.webhookPageOf(r, v, wh)
	if err != nil {
		return err
	}
	return s.showWebhook(w, v, p, http.StatusOK)
}

func (s *Server) showWebhook(w http.ResponseWriter, v *view, p webhookPage, status int) error {
	v.Title, v.Section = p.W.Name, "webhooks"
	s.render(w, v, "webhook", status, p)
	return nil
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, v *view) error {
	old, err := s.Store.GetWebhook(r.Context(), v.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	body, f := formBody(r.PostForm, old, v)
	wh, err := httpapi.DecodeWebhook(r.Context(), s.Targets, s.Store, v.Tenant.ID, body, old, s.now())
	if err == nil && len(f.Errors) > 0 {
		err = hookd.Errorf(hookd.EINVALID, "invalid lines")
	}
	if err == nil {
		err = s.Store.UpdateWebhook(r.Context(), wh)
	}
	if err != nil {
		if !f.addErrors(err, v) {
			return err
		}
		p, perr := s.webhookPageOf(r, v, old)
		if perr != nil {
			return perr
		}
		f.AuthSecretSet = old.Auth != nil
		p.Form = f
		return s.showWebhook(w, v, p, http.StatusUnprocessableEntity)
	}
	s.wake()
	http.Redirect(w, r, v.TenantURL("/webhooks/"+wh.ID+"?done=saved"), http.StatusSeeOther)
	return nil
}

func (s *Server) setEnabled(on bool) handler {
	return func(w http.ResponseWriter, r *http.Request, v *view) error {
		wh, err := s.Store.GetWebhook(r.Context(), v.Tenant.ID, r.PathValue("id"))
		if err != nil {
			return err
		}
		wh.Enabled = on
		wh.Secrets = hookd.ActiveSecrets(wh.Secrets, s.now())
		if err := s.Store.UpdateWebhook(r.Context(), wh); err != nil {
			return err
		}
		s.wake()
		done := "disabled"
		if on {
			done = "enabled"
		}
		http.Redirect(w, r, v.TenantURL("/webhooks/"+wh.ID+"?done="+done), http.StatusSeeOther)
		return nil
	}
}

func (s *Server) unsuspend(w http.ResponseWriter, r *http.Request, v *view) error {
	wh, err := s.Store.SetSuspended(r.Context(), v.Tenant.ID, r.PathValue("id"), false, s.now())
	if err != nil {
		return err
	}
	s.wake()
	http.Redirect(w, r, v.TenantURL("/webhooks/"+wh.ID+"?done=unsuspended"), http.StatusSeeOther)
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.Store.DeleteWebhook(r.Context(), v.Tenant.ID, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, v.TenantURL("/webhooks?done=deleted"), http.StatusSeeOther)
	return nil
}

// testWebhook sends a test call and shows its answer on the webhook's page.
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request, v *view) error {
	wh, err := s.Store.GetWebhook(r.Context(), v.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := s.webhookPageOf(r, v, wh)
	if err != nil {
		return err
	}
	typ := strings.TrimSpace(r.PostForm.Get("type"))
	if typ == "" {
		typ = "webhook.test"
	}
	p.Types = typ
	payload := json.RawMessage(`{}`)
	if raw := strings.TrimSpace(r.PostForm.Get("payload")); raw != "" {
		if !json.Valid([]byte(raw)) {
			p.TestErr = v.T("test.badjson")
			return s.showWebhook(w, v, p, http.StatusUnprocessableEntity)
		}
		payload = json.RawMessage(raw)
	}
	in := hookd.EventInput{Type: typ, Payload: payload}
	var f hookd.Fields
	max := s.MaxPayloadBytes
	if max <= 0 {
		max = httpapi.DefaultMaxPayloadBytes
	}
	in.Check("", max, &f)
	if len(f) > 0 {
		for _, fe := range f {
			p.TestErr += fe.Field + ": " + fieldMessage(v.Lang, fe) + " "
		}
		return s.showWebhook(w, v, p, http.StatusUnprocessableEntity)
	}
	if s.Deliverer == nil {
		p.TestErr = v.T("test.nodelivery")
		return s.showWebhook(w, v, p, http.StatusServiceUnavailable)
	}
	att, err := s.Deliverer.Test(r.Context(), wh, typ, payload, nil)
	if err != nil {
		if hookd.ErrorCode(err) == hookd.EINTERNAL {
			return err
		}
		p.TestErr = errorMessage(v.Lang, err)
	}
	p.Test = att
	return s.showWebhook(w, v, p, http.StatusOK)
}

// revealSecrets shows the signing secrets, on demand only (a POST: never
// in a page a link or the history can bring back).
func (s *Server) revealSecrets(w http.ResponseWriter, r *http.Request, v *view) error {
	wh, err := s.Store.GetWebhook(r.Context(), v.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := s.webhookPageOf(r, v, wh)
	if err != nil {
		return err
	}
	for _, sec := range hookd.ActiveSecrets(wh.Secrets, s.now()) {
		p.Secrets = append(p.Secrets, sec.Value)
	}
	return s.showWebhook(w, v, p, http.StatusOK)
}

func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request, v *view) error {
	wh, err := s.Store.GetWebhook(r.Context(), v.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	next := httpapi.RotateSecrets(wh.Secrets, "", s.now())
	if err := s.Store.SetSecrets(r.Context(), v.Tenant.ID, wh.ID, next); err != nil {
		return err
	}
	wh.Secrets = next
	p, err := s.webhookPageOf(r, v, wh)
	if err != nil {
		return err
	}
	for _, sec := range hookd.ActiveSecrets(next, s.now()) {
		p.Secrets = append(p.Secrets, sec.Value)
	}
	v.Flash = v.T("done.rotated")
	return s.showWebhook(w, v, p, http.StatusOK)
}

// recoverMessages re-queues the webhook's failed messages of a window.
func (s *Server) recoverMessages(w http.ResponseWriter, r *http.Request, v *view) error {
	wh, err := s.Store.GetWebhook(r.Context(), v.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	rf := recoverForm{Since: r.PostForm.Get("since"), Until: r.PostForm.Get("until"), Errors: map[string][]string{}}
	since, err1 := time.Parse("2006-01-02T15:04", rf.Since)
	until, err2 := time.Parse("2006-01-02T15:04", rf.Until)
	if err1 != nil {
		rf.Errors["since"] = append(rf.Errors["since"], v.T("recover.badtime"))
	}
	if err2 != nil {
		rf.Errors["until"] = append(rf.Errors["until"], v.T("recover.badtime"))
	} else if err1 == nil && !until.After(since) {
		rf.Errors["until"] = append(rf.Errors["until"], catalog.Message(catalog.Lang(v.Lang), "must be after since"))
	}
	if len(rf.Errors) > 0 {
		p, err := s.webhookPageOf(r, v, wh)
		if err != nil {
			return err
		}
		p.Recovery = rf
		return s.showWebhook(w, v, p, http.StatusUnprocessableEntity)
	}
	n, err := s.Store.RecoverMessages(r.Context(), v.Tenant.ID, wh.ID, since, until, s.now())
	if err != nil {
		return err
	}
	if n > 0 {
		s.wake()
	}
	http.Redirect(w, r, v.TenantURL("/webhooks/"+wh.ID+"?done=recovered&n="+strconv.Itoa(n)), http.StatusSeeOther)
	return nil
}

// --- events ---

type eventRow struct {
	E        *hookd.Event
	Messages []*hookd.Message
}

type eventsPage struct {
	Rows     []eventRow
	Next     hookd.Next
	Q        url.Values
	First    bool
	Window   string
	Filtered bool
}

// WindowURL is the events list with the same filters over another window.
func (p eventsPage) WindowURL(base, win string) string {
	q := cloneValues(p.Q)
	q.Del("before")
	q.Set("window", win)
	return base + "?" + q.Encode()
}

// PageURL is the events list with the same filters, before cursor.
func (p eventsPage) PageURL(base, before string) string {
	q := cloneValues(p.Q)
	q.Del("before")
	if before != "" {
		q.Set("before", before)
	}
	return base + "?" + q.Encode()
}

// events is the event log with the messages each event made: two queries.
func (s *Server) events(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	win := windowOf(q)
	q.Set("window", win)
	eq := hookd.EventQuery{Before: q.Get("before"), Type: strings.TrimSpace(q.Get("type")), Limit: pageSize, Scan: scanLimit}
	if d, ok := windows[win]; ok {
		eq.From = hookd.MinID(hookd.PrefixEvent, v.now.Add(-d))
	}
	evs, next, err := s.Store.BrowseEvents(r.Context(), v.Tenant.ID, eq)
	if err != nil {
		return err
	}
	p := eventsPage{Next: next, Q: q, First: eq.Before == "", Window: win, Filtered: eq.Type != ""}
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	byEvent := map[string][]*hookd.Message{}
	if v.Can("messages:read") {
		ms, err := s.Store.MessagesOfEvents(r.Context(), v.Tenant.ID, ids)
		if err != nil {
			return err
		}
		for _, m := range ms {
			byEvent[m.EventID] = append(byEvent[m.EventID], m)
		}
	}
	for _, e := range evs {
		p.Rows = append(p.Rows, eventRow{E: e, Messages: byEvent[e.ID]})
	}
	v.Title, v.Section = v.T("nav.events"), "events"
	s.render(w, v, "events", http.StatusOK, p)
	return nil
}

// --- API keys ---

type keysPage struct {
	Keys    []*hookd.APIKey
	Token   string
	Created *hookd.APIKey
	Name    string
	Scopes  []string
	Errors  map[string][]string
	All     []hookd.Scope
}

func (s *Server) keysPage(r *http.Request, v *view) (keysPage, error) {
	ks, err := s.Store.ListAPIKeys(r.Context(), v.Tenant.ID, hookd.Page{Limit: 500})
	return keysPage{Keys: ks, All: hookd.Scopes, Errors: map[string][]string{}}, err
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request, v *view) error {
	p, err := s.keysPage(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Section = v.T("nav.keys"), "keys"
	s.render(w, v, "keys", http.StatusOK, p)
	return nil
}

// createKey makes an API key and shows its token once.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, v *view) error {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	var scopes []hookd.Scope
	var f hookd.Fields
	for _, sc := range r.PostForm["scopes"] {
		if !hookd.ValidScope(sc) {
			f.Add("scopes", "is not a scope (webhooks:list, webhooks:read, webhooks:write, events:read, events:write, messages:read, messages:write, admin)")
			continue
		}
		if !slices.Contains(scopes, hookd.Scope(sc)) {
			scopes = append(scopes, hookd.Scope(sc))
		}
	}
	if len(scopes) == 0 && len(f) == 0 {
		f.Add("scopes", "must have at least one scope")
	}
	if len([]rune(name)) > hookd.MaxNameLen {
		f.Add("name", "must be at most %d characters", hookd.MaxNameLen)
	}
	p, err := s.keysPage(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Section = v.T("nav.keys"), "keys"
	p.Name = name
	for _, sc := range scopes {
		p.Scopes = append(p.Scopes, string(sc))
	}
	if len(f) > 0 {
		for _, fe := range f {
			p.Errors[fe.Field] = append(p.Errors[fe.Field], fieldMessage(v.Lang, fe))
		}
		s.render(w, v, "keys", http.StatusUnprocessableEntity, p)
		return nil
	}
	k, token := access.NewKey(v.Tenant.ID, name, scopes)
	k.CreatedAt = s.now()
	if err := s.Store.CreateAPIKey(r.Context(), k); err != nil {
		return err
	}
	p.Keys = append(p.Keys, k)
	p.Created, p.Token, p.Name, p.Scopes = k, token, "", nil
	s.render(w, v, "keys", http.StatusCreated, p)
	return nil
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.Store.DeleteAPIKey(r.Context(), v.Tenant.ID, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, v.TenantURL("/keys?done=revoked"), http.StatusSeeOther)
	return nil
}
