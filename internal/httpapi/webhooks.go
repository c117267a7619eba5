package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// webhookView is a webhook as the API shows it: auth without its password
// or token, secrets only in create's answer.
type webhookView struct {
	ID                string              `json:"id"`
	TenantID          string              `json:"tenant_id"`
	Number            int64               `json:"number"`
	Name              string              `json:"name"`
	Description       string              `json:"description"`
	URL               string              `json:"url"`
	Enabled           bool                `json:"enabled"`
	EventTypes        []string            `json:"event_types"`
	Filter            map[string]string   `json:"filter"`
	Headers           map[string][]string `json:"headers"`
	Auth              *authView           `json:"auth"`
	Secrets           []string            `json:"secrets,omitempty"`
	TimeoutMS         int                 `json:"timeout_ms"`
	MaxRetries        int                 `json:"max_retries"`
	RetrySchedule     []string            `json:"retry_schedule"`
	Grouped           bool                `json:"grouped"`
	ContinueOnFailure bool                `json:"continue_on_failure"`
	FailureHandling   failureView         `json:"failure_handling"`
	RateLimit         *int                `json:"rate_limit"`
	MaxInFlight       *int                `json:"max_in_flight"`
	Suspended         bool                `json:"suspended"`
	SuspendedAt       *time.Time          `json:"suspended_at"`
	CreatedAt         time.Time           `json:"created_at"`
	UpdatedAt         time.Time           `json:"updated_at"`
}

type authView struct {
	Type     string `json:"type"`
	Username string `json:"username,omitempty"`
}

type failureView struct {
	SuspendAfter string `json:"suspend_after"`
}

// formatDuration writes d as Go does, without the zero tails: "120h", "5m",
// "1m30s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func viewWebhook(w *hookd.Webhook, withSecrets bool, now time.Time) webhookView {
	v := webhookView{
		ID: w.ID, TenantID: w.TenantID, Number: w.Number, Name: w.Name, Description: w.Description, URL: w.URL,
		Enabled: w.Enabled, EventTypes: w.EventTypes, Filter: w.Filter, Headers: w.Headers,
		TimeoutMS: w.TimeoutMS, MaxRetries: w.MaxRetries, Grouped: w.Grouped,
		ContinueOnFailure: w.ContinueOnFailure,
		FailureHandling:   failureView{SuspendAfter: formatDuration(time.Duration(w.FailureHandling.SuspendAfter))},
		Suspended:         w.Suspended, SuspendedAt: utcPtr(w.SuspendedAt),
		CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC(),
	}
	if v.EventTypes == nil {
		v.EventTypes = []string{}
	}
	if v.Filter == nil {
		v.Filter = map[string]string{}
	}
	if v.Headers == nil {
		v.Headers = map[string][]string{}
	}
	if w.Auth != nil {
		v.Auth = &authView{Type: w.Auth.Type}
		if w.Auth.Type == hookd.AuthBasic {
			v.Auth.Username = w.Auth.Username
		}
	}
	if w.RetrySchedule != nil {
		v.RetrySchedule = make([]string, len(w.RetrySchedule))
		for i, d := range w.RetrySchedule {
			v.RetrySchedule[i] = formatDuration(time.Duration(d))
		}
	}
	if w.RateLimit > 0 {
		v.RateLimit = &w.RateLimit
	}
	if w.MaxInFlight > 0 {
		v.MaxInFlight = &w.MaxInFlight
	}
	if withSecrets {
		v.Secrets = secretValues(w.Secrets, now)
	}
	return v
}

func secretValues(s []hookd.Secret, now time.Time) []string {
	out := []string{}
	for _, v := range hookd.ActiveSecrets(s, now) {
		out = append(out, v.Value)
	}
	return out
}

type bodyMode int

const (
	modeCreate bodyMode = iota
	modePut
	modePatch
)

// webhookReadOnly are the fields a client sees but may not write.
var webhookReadOnly = []string{"id", "tenant_id", "number", "suspended", "suspended_at", "created_at", "updated_at"}

// applyWebhook writes the body's fields onto w. A null resets a field to
// its default (auth: none); in create and PUT that is the same as leaving
// it out. It returns whether secrets were given. Errors go into o.
func applyWebhook(o *obj, w *hookd.Webhook, mode bodyMode, now time.Time) (secretsGiven bool) {
	def := hookd.NewWebhookDefaults()
	member(o, "name", into(o.str)).apply(&w.Name, def.Name)
	member(o, "description", into(o.str)).apply(&w.Description, "")
	member(o, "url", into(o.str)).apply(&w.URL, "")
	member(o, "enabled", into(o.boolean)).apply(&w.Enabled, def.Enabled)
	member(o, "event_types", o.strList).apply(&w.EventTypes, nil)
	member(o, "filter", o.strMap).apply(&w.Filter, nil)
	member(o, "headers", o.strListMap).apply(&w.Headers, nil)
	member(o, "auth", o.auth).apply(&w.Auth, nil)
	if v, ok := o.strList("secrets"); ok && len(v) > 0 {
		w.Secrets = make([]hookd.Secret, len(v))
		for i, s := range v {
			w.Secrets[i] = hookd.Secret{Value: s, CreatedAt: now}
		}
		secretsGiven = true
	}
	member(o, "timeout_ms", into(o.integer)).apply(&w.TimeoutMS, def.TimeoutMS)
	member(o, "max_retries", into(o.integer)).apply(&w.MaxRetries, def.MaxRetries)
	member(o, "retry_schedule", o.schedule).apply(&w.RetrySchedule, nil) // empty: the server's default
	member(o, "grouped", into(o.boolean)).apply(&w.Grouped, false)
	member(o, "continue_on_failure", into(o.boolean)).apply(&w.ContinueOnFailure, false)
	member(o, "failure_handling", o.failureHandling).apply(&w.FailureHandling, def.FailureHandling)
	member(o, "rate_limit", into(o.integer)).apply(&w.RateLimit, 0)
	member(o, "max_in_flight", o.maxInFlight).apply(&w.MaxInFlight, 0) // 0: the server's default

	if mode == modePatch {
		if v, ok := o.strList("remove_event_types"); ok {
			w.EventTypes = slices.DeleteFunc(slices.Clone(w.EventTypes), func(t string) bool { return slices.Contains(v, t) })
		}
		if v, ok := o.strList("add_event_types"); ok {
			w.EventTypes = append(slices.Clone(w.EventTypes), v...)
		}
		if v, ok := o.strList("remove_headers"); ok {
			h := make(map[string][]string, len(w.Headers))
			for k, vals := range w.Headers {
				if !slices.ContainsFunc(v, func(n string) bool { return strings.EqualFold(n, k) }) {
					h[k] = vals
				}
			}
			w.Headers = h
		}
		if v, ok := o.strListMap("add_headers"); ok {
			w.Headers = hookd.MergeHeaders(w.Headers, v) // merged per name, names are case-insensitive
		}
	}
	o.readOnly(webhookReadOnly...)
	o.unknown()
	w.EventTypes = dedupe(w.EventTypes)
	if len(w.Filter) == 0 {
		w.Filter = nil
	}
	if len(w.Headers) == 0 {
		w.Headers = nil
	}
	if len(w.RetrySchedule) == 0 {
		w.RetrySchedule = nil
	}
	return secretsGiven
}

// auth decodes a webhook's auth object.
func (o *obj) auth(name string) (*hookd.Auth, bool) {
	m, ok := o.rawMap(name)
	if !ok {
		return nil, false
	}
	a := o.child(m, name)
	var v hookd.Auth
	a.str("type", &v.Type)
	a.str("username", &v.Username)
	a.str("password", &v.Password)
	a.str("token", &v.Token)
	a.unknown()
	return &v, true
}

// schedule decodes a retry schedule: an array of duration strings, each
// bad one reported under its index.
func (o *obj) schedule(name string) ([]hookd.Duration, bool) {
	var sched []hookd.Duration
	good := true
	if !o.list(name, func(p string, raw json.RawMessage) {
		var d hookd.Duration
		if d.UnmarshalJSON(raw) != nil {
			o.add(p, "must be a duration string like \"90s\", \"5m\" or \"120h\"")
			good = false
			return
		}
		sched = append(sched, d)
	}) {
		return nil, false
	}
	if !good {
		o.bad[o.path(name)] = true
		return nil, false
	}
	return sched, true
}

// failureHandling decodes a webhook's failure_handling object; a member
// left out or null takes its default.
func (o *obj) failureHandling(name string) (hookd.FailureHandling, bool) {
	def := hookd.NewWebhookDefaults().FailureHandling
	m, ok := o.rawMap(name)
	if !ok {
		return def, false
	}
	fh := o.child(m, name)
	v := def
	member(fh, "suspend_after", into(fh.duration)).apply(&v.SuspendAfter, def.SuspendAfter)
	fh.unknown()
	return v, true
}

func dedupe(s []string) []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// validateWebhook applies the body to w and validates the result (see
// ValidateWebhook); one EINVALID error lists every problem.
func (s *Server) validateWebhook(ctx context.Context, o *obj, w *hookd.Webhook, mode bodyMode, now time.Time, kept []string) (bool, error) {
	given := applyWebhook(o, w, mode, now)
	if err := o.mergeValidation(s.ValidateWebhook(ctx, w, kept)); err != nil {
		return false, err
	}
	return given, o.err()
}

// ValidateWebhook checks w as the API does before storing it: every rule
// of the domain (hookd.Webhook.Validate, under the server's target
// policy) and, when w's tenant has an event type catalogue, that the
// catalogue allows each of w's event types, except those in kept (the
// webhook's types before an update). One EINVALID error lists every
// field. The dialects validate their webhooks through it.
func (s *Server) ValidateWebhook(ctx context.Context, w *hookd.Webhook, kept []string) error {
	err := w.Validate(ctx, s.Targets)
	tc, cerr := s.catalog(ctx, w.TenantID)
	if cerr != nil {
		return cerr
	}
	var f hookd.Fields
	tc.CheckSubscriptions(w.EventTypes, kept, &f)
	if len(f) > 0 {
		var he *hookd.Error
		if asError(err, &he) {
			f = append(he.Fields, f...)
		}
		err = f.Err()
	}
	return err
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	o, err := s.readObject(w, r, defaultBodyLimit, true)
	if err != nil {
		return err
	}
	now := s.now()
	wh := hookd.NewWebhookDefaults()
	wh.TenantID = c.tenant
	if _, err := s.validateWebhook(r.Context(), o, wh, modeCreate, now, nil); err != nil {
		return err
	}
	if len(wh.Secrets) == 0 {
		wh.Secrets = []hookd.Secret{{Value: hookd.NewSecret(), CreatedAt: now}}
	}
	if err := s.Store.CreateWebhook(r.Context(), wh); err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+wh.ID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, viewWebhook(wh, true, now))
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, c *call) error {
	now := s.now()
	return listing[*hookd.Webhook, webhookView]{
		params: []string{"name", "url", "url_prefix", "enabled", "suspended", "active", "event_type"},
		filter: func(q url.Values, f *hookd.Fields) fetchPage[*hookd.Webhook] {
			filter := hookd.WebhookFilter{TenantID: c.tenant, Name: q.Get("name"),
				Enabled: queryBool(q, "enabled", f), Suspended: queryBool(q, "suspended", f),
				Active: queryBool(q, "active", f), EventTypes: q["event_type"]}
			if v := q.Get("url"); v != "" {
				n, err := hookd.NormalizeURL(v)
				if err != nil {
					f.Add("url", "must be a URL")
				}
				filter.URL = n
			}
			if v := q.Get("url_prefix"); v != "" {
				filter.URLPrefix = normalizePrefix(v)
			}
			return func(ctx context.Context, p hookd.Page) ([]*hookd.Webhook, error) {
				filter.Page = p
				return s.Store.ListWebhooks(ctx, filter)
			}
		},
		id:   func(x *hookd.Webhook) string { return x.ID },
		view: func(x *hookd.Webhook) webhookView { return viewWebhook(x, false, now) },
	}.serve(w, r)
}

// normalizePrefix normalises the scheme and host of a URL prefix like
// NormalizeURL does, leaving a prefix that ends inside the host alone but
// lower-cased.
func normalizePrefix(p string) string {
	scheme, rest, ok := strings.Cut(p, "://")
	if !ok {
		return strings.ToLower(p)
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		if n, err := hookd.NormalizeURL(p); err == nil {
			return n
		}
		return strings.ToLower(scheme) + "://" + strings.ToLower(rest[:i]) + rest[i:]
	}
	return strings.ToLower(p)
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	wh, err := s.Store.GetWebhook(r.Context(), c.tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewWebhook(wh, false, s.now()))
	return nil
}

func (s *Server) putWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.updateWebhook(w, r, c, modePut)
}

func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.updateWebhook(w, r, c, modePatch)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, c *call, mode bodyMode) error {
	old, err := s.Store.GetWebhook(r.Context(), c.tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	o, err := s.readObject(w, r, defaultBodyLimit, mode == modePut)
	if err != nil {
		return err
	}
	now := s.now()
	var wh *hookd.Webhook
	if mode == modePut {
		wh = hookd.NewWebhookDefaults()
		wh.ID, wh.TenantID, wh.Number, wh.CreatedAt, wh.UpdatedAt = old.ID, old.TenantID, old.Number, old.CreatedAt, old.UpdatedAt
		wh.Suspended, wh.SuspendedAt, wh.FailingSince = old.Suspended, old.SuspendedAt, old.FailingSince
	} else {
		cp := *old
		wh = &cp
	}
	// Secrets stay unless given; expired ones are dropped on the way.
	wh.Secrets = hookd.ActiveSecrets(old.Secrets, now)
	if _, err := s.validateWebhook(r.Context(), o, wh, mode, now, old.EventTypes); err != nil {
		return err
	}
	if err := s.Store.UpdateWebhook(r.Context(), wh); err != nil {
		return err
	}
	s.wake()
	writeJSON(w, http.StatusOK, viewWebhook(wh, false, now))
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.Store.DeleteWebhook(r.Context(), c.tenant, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) unsuspendWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.readAction(w, r); err != nil {
		return err
	}
	wh, err := s.Store.SetSuspended(r.Context(), c.tenant, r.PathValue("id"), false, s.now())
	if err != nil {
		return err
	}
	s.wake()
	writeJSON(w, http.StatusOK, viewWebhook(wh, false, s.now()))
	return nil
}

// readAction reads the body of an action without parameters: empty or {}.
func (s *Server) readAction(w http.ResponseWriter, r *http.Request) error {
	o, err := s.readObject(w, r, defaultBodyLimit, false)
	if err != nil {
		return err
	}
	o.unknown()
	return o.err()
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	wh, err := s.Store.GetWebhook(r.Context(), c.tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	o, err := s.readObject(w, r, int64(s.maxPayload())*2+64<<10, false)
	if err != nil {
		return err
	}
	in := hookd.EventInput{Type: "webhook.test", Payload: json.RawMessage(`{}`)}
	o.str("type", &in.Type)
	if raw, ok := o.get("payload"); ok {
		in.Payload = compact(raw)
	}
	// Extra headers for this call only, by the rules of a webhook's.
	headers, _ := o.strListMap("headers")
	var hf hookd.Fields
	hookd.CheckHeaders("headers", headers, &hf)
	if err := o.mergeValidation(hf.Err()); err != nil {
		return err
	}
	o.unknown()
	// A test publishes nothing: the catalogue does not apply to it.
	if err := s.checkEvents(r.Context(), "", o, []hookd.EventInput{in}, func(int) string { return "" }); err != nil {
		return err
	}
	if s.Deliverer == nil {
		return hookd.Errorf(hookd.EUNAVAILABLE, "delivery is not running")
	}
	att, err := s.Deliverer.Test(r.Context(), wh, in.Type, in.Payload, headers)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewAttempt(att))
	return nil
}

type secretsAnswer struct {
	Secrets []string `json:"secrets"`
}

func (s *Server) getSecrets(w http.ResponseWriter, r *http.Request, c *call) error {
	wh, err := s.Store.GetWebhook(r.Context(), c.tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, secretsAnswer{secretValues(wh.Secrets, s.now())})
	return nil
}

func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request, c *call) error {
	wh, err := s.Store.GetWebhook(r.Context(), c.tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	o, err := s.readObject(w, r, defaultBodyLimit, false)
	if err != nil {
		return err
	}
	secret := ""
	if o.str("secret", &secret) {
		if msg := hookd.CheckSecret(secret); !msg.IsZero() {
			o.addMsg("secret", msg)
		}
	}
	o.unknown()
	if err := o.err(); err != nil {
		return err
	}
	if secret == "" {
		secret = hookd.NewSecret()
	}
	now := s.now()
	next := []hookd.Secret{{Value: secret, CreatedAt: now}}
	if prev := hookd.ActiveSecrets(wh.Secrets, now); len(prev) > 0 && prev[0].Value != secret {
		p := prev[0]
		exp := now.Add(hookd.SecretRotationOverlap)
		if p.ExpiresAt == nil || p.ExpiresAt.After(exp) {
			p.ExpiresAt = &exp
		}
		next = append(next, p)
	}
	if err := s.Store.SetSecrets(r.Context(), c.tenant, wh.ID, next); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, secretsAnswer{secretValues(next, now)})
	return nil
}

func (s *Server) recoverWebhook(w http.ResponseWriter, r *http.Request, c *call) error {
	wh, err := s.Store.GetWebhook(r.Context(), c.tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	o, err := s.readObject(w, r, defaultBodyLimit, true)
	if err != nil {
		return err
	}
	now := s.now()
	var since, until time.Time
	if !o.timestamp("since", &since) && !o.bad["since"] {
		o.add("since", "is required")
	}
	if !o.timestamp("until", &until) {
		until = now
	} else if !o.bad["since"] && !until.After(since) {
		o.add("until", "must be after since")
	}
	o.unknown()
	if err := o.err(); err != nil {
		return err
	}
	n, err := s.Store.RecoverMessages(r.Context(), c.tenant, wh.ID, since, until, now)
	if err != nil {
		return err
	}
	if n > 0 {
		s.wake()
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"count": n})
	return nil
}

// maxInFlight decodes max_in_flight: an integer, but not 0, which is the
// domain's "the server's default", spelt null in the API.
func (o *obj) maxInFlight(name string) (int, bool) {
	var v int
	if !o.integer(name, &v) {
		return 0, false
	}
	if v == 0 {
		o.add(o.path(name), "must be between 1 and %d, or null for the server's default", hookd.MaxMaxInFlight)
		return 0, false
	}
	return v, true
}
