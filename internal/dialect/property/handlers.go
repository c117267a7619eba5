package property

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
	"github.com/hookd/hookd/internal/dialect"
)

// Limits of the seed's fields beyond the domain's.
const (
	MaxEntityNameLen = 255
	MaxPageSize      = 100
	DefaultPageSize  = 20
)

// object reads r's body as a JSON object; an empty body is an empty
// object unless required.
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

func (a *API) create(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.env.KeyTenant(w, r, access.WriteWebhooks)
	if err != nil {
		return err
	}
	o, err := object(w, r, true)
	if err != nil {
		return err
	}
	wh, err := a.decode(r.Context(), tenant, o)
	if err != nil {
		return err
	}
	wh.Secrets = []hookd.Secret{{Value: hookd.NewSecret(), CreatedAt: a.env.Time()}}
	if err := a.env.Store.CreateWebhook(r.Context(), wh); err != nil {
		return a.conflict(r.Context(), tenant, err)
	}
	reg, _ := asRegistration(wh)
	w.Header().Set("Location", "/api/webhook-registrations/"+strconv.FormatInt(wh.Number, 10))
	dialect.WriteJSON(w, http.StatusCreated, reg)
	return nil
}

// conflictError is a duplicate registration with the id (number) of the
// registration it duplicates.
type conflictError struct {
	err    error
	number int64
}

func (e *conflictError) Error() string { return e.err.Error() }
func (e *conflictError) Unwrap() error { return e.err }

// conflict names the number of the webhook a duplicate duplicates.
func (a *API) conflict(ctx context.Context, tenant string, err error) error {
	var he *hookd.Error
	if !errors.As(err, &he) || he.Code != hookd.ECONFLICT || he.ExistingID == "" {
		return err
	}
	if other, gerr := a.env.Store.GetWebhook(ctx, tenant, he.ExistingID); gerr == nil {
		return &conflictError{err: err, number: other.Number}
	}
	return err
}

// decode reads a registration's body into a webhook and validates it: the
// seed's own rules here, every other one by the domain's validation,
// whose fields are named as the seed names them. One EINVALID error lists
// every problem.
func (a *API) decode(ctx context.Context, tenant string, o *dialect.Object) (*hookd.Webhook, error) {
	wh := hookd.NewWebhookDefaults()
	wh.TenantID = tenant
	party, ok := o.Int("partyId", true)
	if ok && (party < 1 || party > math.MaxInt32) {
		o.Add("partyId", "must be between %d and %d", 1, math.MaxInt32)
	} else if ok {
		wh.Filter = map[string]string{FilterKey: strconv.FormatInt(party, 10)}
	}
	wh.URL, _ = o.String("targetUrl", true)
	items, _ := o.Array("enabledEvents", true)
	var at []int // at[j]: the item of wh.EventTypes[j]
	for i, raw := range items {
		p := fmt.Sprintf("enabledEvents[%d]", i)
		e, ok := o.At(p, raw)
		if !ok {
			continue
		}
		typ, okType := e.Int("type", true)
		if okType && (typ < 1 || typ >= int64(len(TypeNames))) {
			e.Add(e.Path("type"), "must be one of 1 (Created), 2 (Updated), 3 (Deleted), 4 (ReplaceRelation), 5 (AddToRelation) or 6 (RemoveFromRelation)")
			okType = false
		}
		entity, okName := e.String("entityName", true)
		switch n := utf8.RuneCountInString(entity); {
		case okName && n == 0:
			e.Add(e.Path("entityName"), "must not be empty")
			okName = false
		case okName && n > MaxEntityNameLen:
			e.Add(e.Path("entityName"), "must be at most %d characters", MaxEntityNameLen)
			okName = false
		}
		e.Unknown()
		if okType && okName {
			wh.EventTypes = append(wh.EventTypes, EventType(int(typ), entity))
			at = append(at, i)
		}
	}
	wh.Grouped, _ = o.Bool("isGrouped", true)
	wh.ContinueOnFailure, _ = o.Bool("continueOnFailure", true)
	if ta, ok := o.Object("targetAuthorization", true); ok {
		if t, ok := ta.Int("authorizationType", false); ok && t != AuthorizationBasic {
			ta.Add(ta.Path("authorizationType"), "must be 1 (Basic), the only authorization type")
		}
		auth := &hookd.Auth{Type: hookd.AuthBasic}
		auth.Username, _ = ta.String("username", true)
		auth.Password, _ = ta.String("password", true)
		ta.Unknown()
		wh.Auth = auth
	}
	o.Unknown()
	wh.Name = dialect.Name("", wh.URL, wh.EventTypes)

	var he *hookd.Error
	if err := a.env.Host.ValidateWebhook(ctx, wh, nil); errors.As(err, &he) {
		for _, fe := range he.Fields {
			field, msg := seedField(fe, wh, at, len(items))
			if field != "" && !o.Covered(field) {
				o.AddMsg(field, msg)
			}
		}
	} else if err != nil {
		return nil, err
	}
	if err := o.Err(); err != nil {
		return nil, err
	}
	wh.EventTypes = dedupe(wh.EventTypes)
	return wh, nil
}

// seedField names a problem the domain found as the seed names the field,
// with the seed's words where they differ; "" for a problem that is not
// the client's (the name, which the dialect made).
func seedField(fe hookd.FieldError, wh *hookd.Webhook, at []int, items int) (string, hookd.Msg) {
	switch f := fe.Field; {
	case f == "name":
		return "", hookd.Msg{}
	case f == "url":
		return "targetUrl", fe.Msg()
	case f == "event_types":
		if len(at) < items {
			return "", hookd.Msg{} // the items' own problems say it
		}
		return "enabledEvents", fe.Msg()
	case len(f) > len("event_types[") && f[:len("event_types[")] == "event_types[":
		j, err := strconv.Atoi(f[len("event_types[") : len(f)-1])
		if err != nil || j >= len(at) {
			return "enabledEvents", fe.Msg()
		}
		t := wh.EventTypes[j]
		if hookd.ValidEventTypePattern(t) {
			// Not the syntax: the tenant's event type catalogue.
			return fmt.Sprintf("enabledEvents[%d]", at[j]), fe.Msg()
		}
		field := fmt.Sprintf("enabledEvents[%d].entityName", at[j])
		if len(t) > hookd.MaxNameLen {
			typ, _, _ := ParseEventType(t)
			return field, hookd.NewMsg("must be at most %d characters for the type %s", hookd.MaxNameLen-1-len(TypeNames[typ]), TypeNames[typ])
		}
		return field, hookd.NewMsg("may contain only letters, digits and the characters _ . : -")
	case f == "filter" || len(f) > len("filter.") && f[:len("filter.")] == "filter.":
		return "partyId", fe.Msg()
	case f == "auth.username":
		return "targetAuthorization.username", fe.Msg()
	case f == "auth.password":
		return "targetAuthorization.password", fe.Msg()
	case len(f) >= len("auth") && f[:len("auth")] == "auth":
		return "targetAuthorization", fe.Msg()
	}
	return fe.Field, fe.Msg()
}

func dedupe(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// errNotFound is the 404 of a registration that does not exist, or that
// the seed cannot show.
func errNotFound() error {
	return hookd.Errorf(hookd.ENOTFOUND, "webhook registration not found")
}

// registrationOf returns the tenant's webhook whose number is the path's
// id, when it is a registration.
func (a *API) registrationOf(r *http.Request, tenant string) (*hookd.Webhook, registration, error) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n < 1 {
		return nil, registration{}, errNotFound()
	}
	wh, err := a.env.Store.GetWebhookByNumber(r.Context(), tenant, n)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		return nil, registration{}, errNotFound()
	} else if err != nil {
		return nil, registration{}, err
	}
	reg, ok := asRegistration(wh)
	if !ok {
		return nil, registration{}, errNotFound()
	}
	return wh, reg, nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.env.KeyTenant(w, r, access.ReadWebhooks)
	if err != nil {
		return err
	}
	_, reg, err := a.registrationOf(r, tenant)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, reg)
	return nil
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.env.KeyTenant(w, r, access.WriteWebhooks)
	if err != nil {
		return err
	}
	wh, _, err := a.registrationOf(r, tenant)
	if err != nil {
		return err
	}
	if err := a.env.Store.DeleteWebhook(r.Context(), tenant, wh.ID); err != nil {
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return errNotFound()
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// page is one page of a list as the seed answers it.
type page[T any] struct {
	Items      []T   `json:"items"`
	PageNumber int64 `json:"pageNumber"`
	PageSize   int64 `json:"pageSize"`
	TotalCount int   `json:"totalCount"`
}

// pageOf checks a page's number (≥ 1, default 1) and size (1..100,
// default 20), given or not, recording their problems under their names.
func pageOf(number, size *int64, f func(field, format string, args ...any)) (int64, int64) {
	pn, ps := int64(1), int64(DefaultPageSize)
	if number != nil {
		if *number < 1 || *number > math.MaxInt32 {
			f("pageNumber", "must be between %d and %d", 1, math.MaxInt32)
		}
		pn = *number
	}
	if size != nil {
		if *size < 1 || *size > MaxPageSize {
			f("pageSize", "must be between %d and %d", 1, MaxPageSize)
		}
		ps = *size
	}
	return pn, ps
}

func (a *API) search(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.env.KeyTenant(w, r, access.ListWebhooks)
	if err != nil {
		return err
	}
	o, err := object(w, r, false)
	if err != nil {
		return err
	}
	filter := hookd.WebhookFilter{TenantID: tenant}
	if u, ok := o.String("targetUrl", false); ok {
		n, err := hookd.NormalizeURL(u)
		if err != nil {
			o.Add("targetUrl", "must be a URL")
		}
		filter.URL = n
	}
	party, hasParty := o.Int("partyId", false)
	if hasParty && (party < 1 || party > math.MaxInt32) {
		o.Add("partyId", "must be between %d and %d", 1, math.MaxInt32)
	}
	var number, size *int64
	if v, ok := o.Int("pageNumber", false); ok {
		number = &v
	}
	if v, ok := o.Int("pageSize", false); ok {
		size = &v
	}
	pn, ps := pageOf(number, size, o.Add)
	o.Unknown()
	if err := o.Err(); err != nil {
		return err
	}
	var regs []registration
	keep := func(w *hookd.Webhook) bool {
		reg, ok := asRegistration(w)
		if ok && (!hasParty || reg.PartyID == party) {
			regs = append(regs, reg)
			return true
		}
		return false
	}
	_, total, err := dialect.Webhooks(r.Context(), a.env.Store, filter, keep, 0, 0, true)
	if err != nil {
		return err
	}
	from := min(int64(len(regs)), (pn-1)*ps)
	items := regs[from:min(int64(len(regs)), from+ps)]
	if items == nil {
		items = []registration{}
	}
	dialect.WriteJSON(w, http.StatusOK, page[registration]{Items: items, PageNumber: pn, PageSize: ps, TotalCount: total})
	return nil
}

// message is a message as the seed shows a Webhook.
type message struct {
	ID         string    `json:"id"`
	State      int       `json:"state"`
	StateName  string    `json:"stateName"`
	EntityName string    `json:"entityName"`
	Type       *int      `json:"type"`
	CreatedAt  time.Time `json:"createdAt"`
	Attempts   []attempt `json:"attempts"`
}

// attempt is a WebhookAttempt.
type attempt struct {
	Number      int       `json:"number"`
	AttemptedAt time.Time `json:"attemptedAt"`
	StatusCode  *int      `json:"statusCode"`
	Error       *string   `json:"error"`
	DurationMS  int64     `json:"durationMs"`
}

// maxAttempts is how many attempts of a message are shown at most.
const maxAttempts = 1000

// viewMessage shows m with its attempts.
func (a *API) viewMessage(ctx context.Context, m *hookd.Message) (message, error) {
	v := message{ID: m.ID, State: StateNumber(m.State), StateName: StateNames[StateNumber(m.State)],
		EntityName: m.EventType, CreatedAt: m.CreatedAt.UTC(), Attempts: []attempt{}}
	if typ, entity, ok := ParseEventType(m.EventType); ok {
		v.EntityName, v.Type = entity, &typ
	}
	atts, err := a.env.Store.ListAttempts(ctx, m.TenantID, m.ID, hookd.Page{Limit: maxAttempts})
	if err != nil {
		return message{}, err
	}
	for _, at := range atts {
		x := attempt{Number: at.Number, AttemptedAt: at.StartedAt.UTC(), DurationMS: at.DurationMS}
		if at.StatusCode != 0 {
			x.StatusCode = &at.StatusCode
		}
		if at.Error != "" {
			x.Error = &at.Error
		}
		v.Attempts = append(v.Attempts, x)
	}
	return v, nil
}

// queryParams are the parameters of the messages' list.
var queryParams = []string{"state", "pageNumber", "pageSize"}

func (a *API) messages(w http.ResponseWriter, r *http.Request) error {
	tenant, err := a.env.KeyTenant(w, r, access.ReadMessages)
	if err != nil {
		return err
	}
	wh, _, err := a.registrationOf(r, tenant)
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return hookd.Errorf(hookd.EINVALID, "malformed query string")
	}
	var f hookd.Fields
	filter := hookd.MessageFilter{WebhookID: wh.ID}
	var number, size *int64
	for _, name := range sortedKeys(q) {
		vals := q[name]
		if msg := hookd.CheckText(name, "name"); !msg.IsZero() {
			f.AddMsg(name, msg)
			continue
		}
		if !slices.Contains(queryParams, name) {
			f.Add(name, "is not a query parameter of this list, which takes %s", strings.Join(queryParams, ", "))
			continue
		}
		if name != "state" && len(vals) > 1 {
			f.Add(name, "must be an integer") // one, named once
			continue
		}
		for _, v := range vals {
			n, err := strconv.ParseInt(v, 10, 64)
			switch {
			case name == "state" && (err != nil || n < 1 || n >= int64(len(States))):
				f.Add(name, "must be one of 1 (Created), 2 (Retrying), 3 (Successful), 4 (Failed), 5 (Aborted), 6 (Pending) or 7 (Resolved)")
			case name == "state":
				filter.States = append(filter.States, States[n])
			case err != nil:
				f.Add(name, "must be an integer")
			case name == "pageNumber":
				number = &n
			default:
				size = &n
			}
		}
	}
	pn, ps := pageOf(number, size, f.Add)
	if err := f.Err(); err != nil {
		return err
	}
	msgs, total, err := dialect.Messages(r.Context(), a.env.Store, tenant, filter, int((pn-1)*ps), int(ps), true)
	if err != nil {
		return err
	}
	out := page[message]{Items: make([]message, len(msgs)), PageNumber: pn, PageSize: ps, TotalCount: total}
	for i, m := range msgs {
		if out.Items[i], err = a.viewMessage(r.Context(), m); err != nil {
			return err
		}
	}
	dialect.WriteJSON(w, http.StatusOK, out)
	return nil
}

// action answers POST /api/webhooks/{messageId}/<abort|resolve|retry>
// with the message after do.
func (a *API) action(do func(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Message, error)) dialect.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tenant, err := a.env.KeyTenant(w, r, access.WriteMessages)
		if err != nil {
			return err
		}
		id := r.PathValue("messageId")
		if !hookd.CheckText(id, "").IsZero() {
			return hookd.Errorf(hookd.ENOTFOUND, "message not found")
		}
		m, err := do(r.Context(), tenant, id, a.env.Time())
		if err != nil {
			return err
		}
		a.env.Wake()
		v, err := a.viewMessage(r.Context(), m)
		if err != nil {
			return err
		}
		dialect.WriteJSON(w, http.StatusOK, v)
		return nil
	}
}

func sortedKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
