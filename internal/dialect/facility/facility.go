// Package facility serves the facility platform's user webhooks (seed
// 002): a URL, the facility events it listens to (`all` for every one)
// and up to two signing secrets, both of which sign (rotation), with
// NestJS's error answers in the seed's fixed English words, every
// violation at once. A facility webhook is an ordinary webhook whose event
// types are all facility events; its id is the webhook's id.
package facility

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
	"github.com/hookd/hookd/internal/dialect"
)

//go:embed openapi.json
var openAPIDocument []byte

// All is the event that subscribes to every event.
const All = "all"

// Events are the events a facility webhook may listen to, in the seed's
// order.
var Events = []string{All, "facility.user-connection.accepted", "facility.user-connection.rejected",
	"facility.creation.accepted", "facility.creation.rejected"}

// The seed's validation messages, in the order it lists them, which is
// the order of an answer.
const (
	MsgSecureURL    = "should be a secure URL with HTTPS"
	MsgURLString    = "url must be a string"
	MsgEventsMin    = "events must contain at least 1 elements"
	MsgEventsArray  = "events must be an array"
	MsgEventsIn     = "each value in events must be one of the following values: all, facility.user-connection.accepted, facility.user-connection.rejected, facility.creation.accepted, facility.creation.rejected"
	MsgSecretsMax   = "secrets must contain no more than 2 elements"
	MsgSecretsArray = "secrets must be an array"
)

// Path is where the seed's user webhooks are.
const Path = "/api/v2/public/webhooks/user"

// API is the facility dialect.
type API struct {
	env dialect.Env
	rt  dialect.Router
}

// New returns the facility dialect of env.
func New(env dialect.Env) *API {
	a := &API{env: env}
	a.rt.Env = &a.env
	a.rt.Fail = a.fail
	a.rt.Handle("POST "+Path, a.create)
	a.rt.Handle("GET "+Path, a.list)
	a.rt.Handle("GET "+Path+"/{id}", a.get)
	a.rt.Handle("DELETE "+Path+"/{id}", a.delete)
	return a
}

// Mounts returns the dialect's paths, whatever their method, and its
// OpenAPI document.
func (a *API) Mounts() map[string]http.Handler {
	m := map[string]http.Handler{"GET /openapi/facility.json": dialect.OpenAPIHandler(openAPIDocument)}
	for _, p := range dialect.Subtree(Path) {
		m[p] = &a.rt
	}
	return m
}

// Routes lists the dialect's operations.
func (a *API) Routes() []string { return a.rt.Routes() }

// OpenAPI returns the dialect's OpenAPI document.
func (a *API) OpenAPI() []byte { return openAPIDocument }

// webhook is a facility webhook as the seed shows it.
type webhook struct {
	ID       string   `json:"id"`
	URL      string   `json:"url"`
	Events   []string `json:"events"`
	ClientID string   `json:"clientId"`
	Secrets  []string `json:"secrets,omitempty"`
}

type data struct {
	Data any `json:"data"`
}

// isFacility reports whether every event type of w is a facility event.
func isFacility(w *hookd.Webhook) bool {
	if len(w.EventTypes) == 0 {
		return false
	}
	for _, t := range w.EventTypes {
		if !slices.Contains(Events, t) {
			return false
		}
	}
	return true
}

func view(w *hookd.Webhook) webhook {
	return webhook{ID: w.ID, URL: w.URL, Events: w.EventTypes, ClientID: w.TenantID}
}

// validation is a 400 listing every message in the seed's order.
type validation []string

func (v validation) Error() string { return strings.Join(v, "; ") }

func (a *API) create(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.env.KeyTenant(w, r, access.WriteWebhooks)
	if err != nil {
		return err
	}
	body, err := dialect.ReadBody(w, r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		body = []byte("{}") // every required field is then reported missing
	}
	m, err := dialect.ParseObject(body)
	if err != nil {
		return err
	}
	wh, err := a.decode(r.Context(), tenant, m)
	if err != nil {
		return err
	}
	now := a.env.Time()
	wh.TenantID = tenant
	if len(wh.Secrets) == 0 {
		wh.Secrets = []hookd.Secret{{Value: hookd.NewSecret(), CreatedAt: now}}
	}
	if err := a.env.Store.CreateWebhook(r.Context(), wh); err != nil {
		return err
	}
	v := view(wh)
	for _, s := range wh.Secrets {
		v.Secrets = append(v.Secrets, s.Value)
	}
	w.Header().Set("Location", Path+"/"+wh.ID)
	dialect.WriteJSON(w, http.StatusCreated, data{v})
	return nil
}

// decode reads the body into a webhook and validates it: the seed's rules
// in its words, then the domain's rules, their English messages after the
// field's name as class-validator words them. Every message at once, by
// field in the seed's order (url, events, secrets), members the seed does
// not have last.
func (a *API) decode(ctx context.Context, tenant string, m map[string]json.RawMessage) (*hookd.Webhook, error) {
	wh := hookd.NewWebhookDefaults()
	wh.TenantID = tenant
	var urlMsgs, eventMsgs, secretMsgs, other []string
	add := func(list *[]string, msg string) {
		if !slices.Contains(*list, msg) {
			*list = append(*list, msg)
		}
	}

	judgeURL := false // whether the domain's verdict on the URL is news
	if u, ok := dialect.String(m["url"]); !ok {
		urlMsgs = append(urlMsgs, MsgSecureURL, MsgURLString)
	} else {
		wh.URL = u
		if !a.env.AllowHTTP && !strings.HasPrefix(strings.ToLower(u), "https://") {
			urlMsgs = append(urlMsgs, MsgSecureURL)
		} else {
			judgeURL = true
		}
	}

	if items, ok := dialect.Items(m["events"]); !ok {
		eventMsgs = append(eventMsgs, MsgEventsMin, MsgEventsArray)
	} else {
		if len(items) == 0 {
			eventMsgs = append(eventMsgs, MsgEventsMin)
		}
		for _, it := range items {
			e, ok := dialect.String(it)
			if !ok || !slices.Contains(Events, e) {
				add(&eventMsgs, MsgEventsIn)
				continue
			}
			if !slices.Contains(wh.EventTypes, e) {
				wh.EventTypes = append(wh.EventTypes, e)
			}
		}
	}

	if raw, ok := m["secrets"]; ok && dialect.Kind(raw) != dialect.KindNull {
		if items, ok := dialect.Items(raw); !ok {
			secretMsgs = append(secretMsgs, MsgSecretsArray)
		} else {
			if len(items) > hookd.MaxSecrets {
				secretMsgs = append(secretMsgs, MsgSecretsMax)
			}
			for _, it := range items {
				v, ok := dialect.String(it)
				if !ok {
					add(&secretMsgs, "each value in secrets must be a string")
					continue
				}
				wh.Secrets = append(wh.Secrets, hookd.Secret{Value: v, CreatedAt: a.env.Time()})
			}
		}
	}

	names := make([]string, 0, len(m))
	for k := range m {
		if k != "url" && k != "events" && k != "secrets" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		other = append(other, "property "+k+" should not exist")
	}

	wh.Name = dialect.Name("", wh.URL, wh.EventTypes)
	var he *hookd.Error
	if err := a.env.Host.ValidateWebhook(ctx, wh, nil); errors.As(err, &he) {
		for _, fe := range he.Fields {
			switch f := fe.Field; {
			case strings.HasPrefix(f, "event_types["):
				// Every facility event is a valid pattern: this is the
				// tenant's event type catalogue speaking.
				add(&eventMsgs, "each value in events "+fe.Message)
			case f == "name", f == "secrets", f == "event_types":
				// The dialect made the name; the seed's own messages
				// say what is wrong with the lists.
			case f == "url":
				if judgeURL {
					add(&urlMsgs, "url "+fe.Message)
				}
			case strings.HasPrefix(f, "secrets["):
				add(&secretMsgs, "each value in secrets "+fe.Message)
			default:
				add(&other, f+" "+fe.Message)
			}
		}
	} else if err != nil {
		return nil, err
	}
	msgs := slices.Concat(urlMsgs, eventMsgs, secretMsgs, other)
	if len(msgs) > 0 {
		return nil, validation(msgs)
	}
	return wh, nil
}

func (a *API) list(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.env.KeyTenant(w, r, access.ListWebhooks)
	if err != nil {
		return err
	}
	var out []webhook
	keep := func(w *hookd.Webhook) bool {
		if isFacility(w) {
			out = append(out, view(w))
		}
		return false
	}
	if _, _, err := dialect.Webhooks(r.Context(), a.env.Store, hookd.WebhookFilter{TenantID: tenant}, keep, 0, 0, true); err != nil {
		return err
	}
	if out == nil {
		out = []webhook{}
	}
	dialect.WriteJSON(w, http.StatusOK, data{out})
	return nil
}

// errNotFound is the 404 of an id that is no facility webhook of the
// tenant.
var errNotFound = hookd.Errorf(hookd.ENOTFOUND, "Webhook not found")

// webhookOf returns the tenant's facility webhook of the path's id.
func (a *API) webhookOf(r *http.Request, tenant string) (*hookd.Webhook, error) {
	id := r.PathValue("id")
	if !hookd.CheckText(id, "").IsZero() {
		return nil, errNotFound
	}
	wh, err := a.env.Store.GetWebhook(r.Context(), tenant, id)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND || err == nil && !isFacility(wh) {
		return nil, errNotFound
	}
	return wh, err
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.env.KeyTenant(w, r, access.ReadWebhooks)
	if err != nil {
		return err
	}
	wh, err := a.webhookOf(r, tenant)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, data{view(wh)})
	return nil
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.env.KeyTenant(w, r, access.WriteWebhooks)
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
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// answer is an error as NestJS answers it.
type answer struct {
	Message    any    `json:"message"`
	Error      string `json:"error,omitempty"`
	StatusCode int    `json:"statusCode"`
}

// fail answers err as NestJS does, in the seed's fixed English: a 400
// lists every message; 401 and 403 are the seed's; a route that does not
// exist is NestJS's "Cannot GET /path".
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var v validation
	status := dialect.Status(err)
	if errors.As(err, &v) {
		status = http.StatusBadRequest
	}
	ans := answer{StatusCode: status, Error: http.StatusText(status), Message: hookd.ErrorMessage(err)}
	if status == http.StatusRequestEntityTooLarge {
		ans.Error = "Payload Too Large" // NestJS's name of it
	}
	var he *hookd.Error
	switch {
	case v != nil:
		ans.Message = []string(v)
	case a.env.LogInternal(r, err):
		ans.Message, ans.Error = "Internal server error", ""
	case status == http.StatusBadRequest:
		ans.Message = []string{hookd.ErrorMessage(err)}
	case status == http.StatusUnauthorized:
		ans.Message, ans.Error = "Unauthorized", ""
	case status == http.StatusForbidden:
		ans.Message = "Forbidden Resource"
	case errors.As(err, &he) && he.Key == "no such resource":
		ans.Message = "Cannot " + r.Method + " " + r.URL.Path
	default:
		var se *dialect.StatusError
		if errors.As(err, &se) {
			ans.Message = se.Detail.String()
		}
	}
	dialect.Prepare(w, status)
	dialect.WriteJSON(w, status, ans)
}
