package device

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
	"github.com/hookd/hookd/internal/dialect"
)

// The kinds of the seed's fields.
const (
	kindString = iota
	kindInt32
	kindHeaders // a string holding a JSON object of strings
	kindStrings
)

// field is one of the seed's fields.
type field struct {
	name     string
	required bool
	kind     int
}

// fields are the seed's fields in its order, which is the order in which
// their problems are found.
var fields = []field{
	{"url", true, kindString},
	{"secret", false, kindString},
	{"status", true, kindString},
	{"timeout", false, kindInt32},
	{"headers", false, kindHeaders},
	{"description", false, kindString},
	{"event_types", true, kindStrings},
	{"max_retries", true, kindInt32},
}

// input is a webhook's body, decoded.
type input struct {
	present     map[string]bool
	url         string
	secret      string
	status      string
	timeout     int64
	headers     map[string][]string
	description string
	eventTypes  []string
	maxRetries  int64
}

// decodeInput reads the body: anything but a JSON object of the seed's
// fields is "Wrong JSON body"; then each field in the seed's order, the
// first missing ("no value for") or of the wrong type.
func decodeInput(body []byte) (*input, error) {
	if len(body) == 0 {
		return nil, badRequest(MsgWrongBody)
	}
	m, err := dialect.ParseObject(body)
	if err != nil {
		return nil, badRequest(MsgWrongBody)
	}
	for k := range m {
		if !slices.ContainsFunc(fields, func(f field) bool { return f.name == k }) {
			return nil, badRequest(MsgWrongBody) // "Missed json body or wrong param"
		}
	}
	in := &input{present: map[string]bool{}}
	for _, f := range fields {
		raw, ok := m[f.name]
		if !ok || dialect.Kind(raw) == dialect.KindNull {
			if f.required {
				return nil, badRequest("Wrong JSON body: no value for " + f.name)
			}
			continue
		}
		in.present[f.name] = true
		wrong := badRequest("Wrong JSON body: value " + f.name + " was of the wrong type")
		switch f.kind {
		case kindString:
			s, ok := dialect.String(raw)
			if !ok {
				return nil, wrong
			}
			switch f.name {
			case "url":
				in.url = s
			case "secret":
				in.secret = s
			case "status":
				in.status = s
			case "description":
				in.description = s
			}
		case kindInt32:
			v, ok := dialect.Int(raw)
			if !ok || v < math.MinInt32 || v > math.MaxInt32 {
				return nil, wrong
			}
			if f.name == "timeout" {
				in.timeout = v
			} else {
				in.maxRetries = v
			}
		case kindHeaders:
			s, ok := dialect.String(raw)
			if !ok {
				return nil, wrong
			}
			h, ok := parseHeaders(s)
			if !ok {
				return nil, wrong
			}
			in.headers = h
		case kindStrings:
			items, ok := dialect.Items(raw)
			if !ok {
				return nil, wrong
			}
			for _, it := range items {
				s, ok := dialect.String(it)
				if !ok {
					return nil, wrong
				}
				in.eventTypes = append(in.eventTypes, s)
			}
		}
	}
	return in, nil
}

// parseHeaders reads the seed's headers: a JSON object of strings, "" for
// none.
func parseHeaders(s string) (map[string][]string, bool) {
	if strings.TrimSpace(s) == "" {
		return nil, true
	}
	m, ok := dialect.Members(json.RawMessage(s))
	if !ok || !json.Valid([]byte(s)) {
		return nil, false
	}
	out := make(map[string][]string, len(m))
	for k, raw := range m {
		v, ok := dialect.String(raw)
		if !ok {
			return nil, false
		}
		out[k] = []string{v}
	}
	return out, true
}

// formatHeaders writes headers as the seed's string: a JSON object, a
// header of several values with them joined by ", " (RFC 9110's list).
func formatHeaders(h map[string][]string) string {
	m := make(map[string]string, len(h))
	for k, v := range h {
		m[k] = strings.Join(v, ", ")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(m)
	return strings.TrimSpace(b.String())
}

// problem is one broken rule: the seed's message and the place of its
// field in the seed's order.
type problem struct {
	order int
	msg   string
}

// apply writes in onto wh and validates the result: the seed's rules and
// the native ones (Host.ValidateWebhook; kept: the types before a PUT), each problem in the seed's words; the first in the seed's
// order of fields is returned.
func (a *API) apply(ctx context.Context, in *input, wh *hookd.Webhook, kept []string) error {
	now := a.env.Time()
	wh.URL = in.url
	if in.present["secret"] {
		wh.Secrets = []hookd.Secret{{Value: in.secret, CreatedAt: now}}
	}
	wh.Enabled = in.status == StatusActive
	wh.TimeoutMS = hookd.DefaultTimeoutMS
	if in.present["timeout"] {
		wh.TimeoutMS = int(in.timeout)
	}
	wh.Headers = in.headers
	wh.Description = in.description
	wh.EventTypes = nil
	for _, t := range in.eventTypes {
		if !slices.Contains(wh.EventTypes, t) {
			wh.EventTypes = append(wh.EventTypes, t)
		}
	}
	wh.MaxRetries = int(in.maxRetries)

	var ps []problem
	if n := utf8.RuneCountInString(in.url); n < MinURLLen || n > MaxURLLen {
		ps = append(ps, problem{0, MsgURL})
	}
	if n := len(in.secret); in.present["secret"] && (n < hookd.MinPlainSecretLen || n > hookd.MaxPlainSecretLen) {
		ps = append(ps, problem{1, MsgSecret})
	}
	if in.status != StatusActive && in.status != StatusDisabled {
		ps = append(ps, problem{2, MsgStatus})
	}
	if !hookd.CheckText(in.description, "").IsZero() {
		ps = append(ps, problem{5, MsgDescription})
	}
	if len(in.eventTypes) == 0 || slices.ContainsFunc(in.eventTypes, func(t string) bool { return !slices.Contains(EventTypes, t) }) {
		ps = append(ps, problem{6, MsgEventTypes})
	}
	if in.maxRetries < MinMaxRetries || in.maxRetries > MaxMaxRetries {
		ps = append(ps, problem{7, MsgMaxRetries})
	}
	var he *hookd.Error
	if err := a.env.Host.ValidateWebhook(ctx, wh, kept); errors.As(err, &he) {
		for _, fe := range he.Fields {
			if p, ok := seedProblem(fe); ok {
				ps = append(ps, p)
			}
		}
	} else if err != nil {
		return err
	}
	if len(ps) > 0 {
		first := slices.MinFunc(ps, func(x, y problem) int { return x.order - y.order }) // the first of equals
		return badRequest(first.msg)
	}
	return nil
}

// seedProblem words a problem the domain found as the seed does; false
// for one that is not the client's (the name the dialect made).
func seedProblem(fe hookd.FieldError) (problem, bool) {
	switch f := fe.Field; {
	case f == "name":
		return problem{}, false
	case f == "url":
		return problem{0, MsgURL}, true
	case f == "secrets" || strings.HasPrefix(f, "secrets["):
		return problem{1, MsgSecret}, true
	case f == "timeout_ms":
		return problem{3, MsgTimeout}, true
	case strings.HasPrefix(f, "headers.") && strings.HasSuffix(f, "]"):
		return problem{4, MsgHeaderValue}, true
	case f == "headers" || strings.HasPrefix(f, "headers."):
		return problem{4, MsgHeaderName}, true
	case f == "description":
		return problem{5, MsgDescription}, true
	case f == "event_types" || strings.HasPrefix(f, "event_types["):
		return problem{6, MsgEventTypes}, true
	case f == "max_retries":
		return problem{7, MsgMaxRetries}, true
	}
	return problem{8, fe.Field + " " + fe.Message}, true
}

// sameURL refuses a second webhook of the tenant with the URL, whatever
// its filter (the seed's rule, stricter than the native one).
func (a *API) sameURL(ctx context.Context, wh *hookd.Webhook) error {
	other, err := dialect.SameURL(ctx, a.env.Store, wh.TenantID, wh.URL, wh.ID)
	if err != nil {
		return err
	}
	if other != nil {
		return badRequest(MsgSameURL)
	}
	return nil
}

// stored maps the store's duplicate to the seed's words.
func stored(err error) error {
	if hookd.ErrorCode(err) == hookd.ECONFLICT {
		return badRequest(MsgSameURL)
	}
	return err
}

func (a *API) create(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.tenant(w, r, Admin)
	if err != nil {
		return err
	}
	body, err := dialect.ReadBody(w, r)
	if err != nil {
		return err
	}
	in, err := decodeInput(body)
	if err != nil {
		return err
	}
	wh := hookd.NewWebhookDefaults()
	wh.TenantID = tenant
	if err := a.apply(r.Context(), in, wh, nil); err != nil {
		return err
	}
	if len(wh.Secrets) == 0 {
		wh.Secrets = []hookd.Secret{{Value: hookd.NewSecret(), CreatedAt: a.env.Time()}}
	}
	wh.Name = dialect.Name(wh.Description, wh.URL, wh.EventTypes)
	if err := a.sameURL(r.Context(), wh); err != nil {
		return err
	}
	if err := a.env.Store.CreateWebhook(r.Context(), wh); err != nil {
		return stored(err)
	}
	dialect.WriteJSON(w, http.StatusOK, itemUID{wh.Number})
	return nil
}

// webhook is a webhook as the seed shows it (never its secret).
type webhook struct {
	ItemUID     int64    `json:"item_uid"`
	URL         string   `json:"url"`
	Status      string   `json:"status"`
	Timeout     int      `json:"timeout"`
	Headers     string   `json:"headers"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	MaxRetries  int      `json:"max_retries"`
}

func view(w *hookd.Webhook) webhook {
	status := StatusDisabled
	if w.Enabled {
		status = StatusActive
	}
	return webhook{ItemUID: w.Number, URL: w.URL, Status: status, Timeout: w.TimeoutMS, Headers: formatHeaders(w.Headers),
		Description: w.Description, EventTypes: w.EventTypes, MaxRetries: w.MaxRetries}
}

func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.tenant(w, r, access.ListWebhooks)
	if err != nil {
		return err
	}
	out := []webhook{}
	keep := func(w *hookd.Webhook) bool {
		if isDevice(w) {
			out = append(out, view(w))
		}
		return false
	}
	if _, _, err := dialect.Webhooks(r.Context(), a.env.Store, hookd.WebhookFilter{TenantID: tenant}, keep, 0, 0, true); err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.tenant(w, r, access.ReadWebhooks)
	if err != nil {
		return err
	}
	wh, err := a.webhookOf(r, tenant)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, view(wh))
	return nil
}

// put replaces the webhook's fields of the seed, by its rules; a secret
// left out keeps the webhook's secrets, and what the seed has no field
// for (filter, auth, retry schedule, …) stays as it is.
func (a *API) put(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.tenant(w, r, Admin)
	if err != nil {
		return err
	}
	old, err := a.webhookOf(r, tenant)
	if err != nil {
		return err
	}
	body, err := dialect.ReadBody(w, r)
	if err != nil {
		return err
	}
	in, err := decodeInput(body)
	if err != nil {
		return err
	}
	wh := *old
	wh.Secrets = hookd.ActiveSecrets(old.Secrets, a.env.Time())
	if err := a.apply(r.Context(), in, &wh, old.EventTypes); err != nil {
		return err
	}
	if old.Name == dialect.Name(old.Description, old.URL, old.EventTypes) {
		wh.Name = dialect.Name(wh.Description, wh.URL, wh.EventTypes) // a name it made, made anew
	}
	if err := a.sameURL(r.Context(), &wh); err != nil {
		return err
	}
	if err := a.env.Store.UpdateWebhook(r.Context(), &wh); err != nil {
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return errNotFound
		}
		return stored(err)
	}
	a.env.Wake()
	dialect.WriteJSON(w, http.StatusOK, itemUID{wh.Number})
	return nil
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.tenant(w, r, Admin)
	if err != nil {
		return err
	}
	wh, err := a.webhookOf(r, tenant)
	if err != nil {
		return err
	}
	if err := a.env.Store.DeleteWebhook(r.Context(), tenant, wh.ID); err != nil {
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return errNotFound
		}
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, itemUID{wh.Number})
	return nil
}

// testResult is the seed's answer of a test call.
type testResult struct {
	Success    bool   `json:"success"`
	StatusCode int    `json:"status_code"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error"`
}

// test sends one test event at once, with the body's headers (a JSON
// object of strings, by the rules of the webhook's) for this call only.
func (a *API) test(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.tenant(w, r, Admin)
	if err != nil {
		return err
	}
	wh, err := a.webhookOf(r, tenant)
	if err != nil {
		return err
	}
	body, err := dialect.ReadBody(w, r)
	if err != nil {
		return err
	}
	var headers map[string][]string
	if len(body) > 0 {
		h, ok := parseHeaders(string(body))
		if !ok {
			return badRequest(MsgWrongBody)
		}
		var f hookd.Fields
		hookd.CheckHeaders("headers", h, &f)
		if len(f) > 0 {
			p, _ := seedProblem(f[0])
			return badRequest(p.msg)
		}
		headers = h
	}
	if a.env.Deliverer == nil {
		return &seedError{http.StatusServiceUnavailable, "delivery is not running"}
	}
	att, err := a.env.Deliverer.Test(r.Context(), wh, "", nil, headers)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, testResult{Success: att.Success, StatusCode: att.StatusCode,
		DurationMS: att.DurationMS, Error: att.Error})
	return nil
}
