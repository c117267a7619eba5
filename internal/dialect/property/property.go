// Package property serves the property platform's webhook API (seeds 000
// and 001): webhook registrations of a party (`partyId`, one registration
// per party of a shared endpoint), their events as entity and change type
// (`{"type": 2, "entityName": "Unit"}` is the native event type
// `Unit.Updated`), the registration's messages (the seed's "Webhooks")
// with numeric states and their attempts, and ASP.NET validation problems,
// in English or German by Accept-Language through the message catalogue.
// A registration is a webhook whose filter is `{"party_id": "<partyId>"}`;
// its id is the webhook's number.
package property

import (
	_ "embed"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dialect"
)

//go:embed openapi.json
var openAPIDocument []byte

// FilterKey is the event attribute a registration's partyId is compared
// with, as a decimal string.
const FilterKey = "party_id"

// TypeNames are the seed's WebhookEventType names by their number, 1..6
// (index 0 is none).
var TypeNames = []string{"", "Created", "Updated", "Deleted", "ReplaceRelation", "AddToRelation", "RemoveFromRelation"}

// States are the seed's WebhookState numbers (1..7, the index) of the
// native message states.
var States = []hookd.MessageState{"", hookd.StateCreated, hookd.StateRetrying, hookd.StateSuccessful,
	hookd.StateFailed, hookd.StateAborted, hookd.StatePending, hookd.StateResolved}

// StateNames are the seed's names of States.
var StateNames = []string{"", "Created", "Retrying", "Successful", "Failed", "Aborted", "Pending", "Resolved"}

// StateNumber returns the seed's number of s, 0 for none.
func StateNumber(s hookd.MessageState) int {
	for i, v := range States {
		if i > 0 && v == s {
			return i
		}
	}
	return 0
}

// EventType returns the native event type of an enabled event: the
// entity's name, a dot and the type's name (`Unit.Updated`).
func EventType(typ int, entityName string) string { return entityName + "." + TypeNames[typ] }

// ParseEventType splits a native event type at its last dot into the
// entity's name and the type's number; ok is false when the part after the
// dot is no type name of the seed.
func ParseEventType(t string) (typ int, entityName string, ok bool) {
	i := strings.LastIndexByte(t, '.')
	if i <= 0 {
		return 0, "", false
	}
	for n, name := range TypeNames {
		if n > 0 && t[i+1:] == name {
			return n, t[:i], true
		}
	}
	return 0, "", false
}

// Versions are the values the api-version header may have.
var Versions = []string{"1", "1.0", "2", "2.0"}

// API is the property dialect.
type API struct {
	env dialect.Env
	rt  dialect.Router
}

// New returns the property dialect of env.
func New(env dialect.Env) *API {
	a := &API{env: env}
	a.rt.Env = &a.env
	a.rt.Fail = a.fail
	const reg = "/api/webhook-registrations"
	a.handle("POST "+reg, a.create)
	a.handle("POST "+reg+"/search", a.search)
	a.handle("GET "+reg+"/{id}", a.get)
	a.handle("DELETE "+reg+"/{id}", a.delete)
	a.handle("GET "+reg+"/{id}/webhooks", a.messages)
	a.handle("POST /api/webhooks/{messageId}/abort", a.action(a.env.Store.AbortMessage))
	a.handle("POST /api/webhooks/{messageId}/resolve", a.action(a.env.Store.ResolveMessage))
	a.handle("POST /api/webhooks/{messageId}/retry", a.action(a.env.Store.RetryMessage))
	return a
}

// handle routes pattern to h behind the api-version check.
func (a *API) handle(pattern string, h dialect.HandlerFunc) {
	a.rt.Handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		if err := checkVersion(r); err != nil {
			return err
		}
		return h(w, r)
	})
}

// Mounts returns the dialect's paths: the registrations and the
// messages' actions, whatever their method, and its OpenAPI document.
func (a *API) Mounts() map[string]http.Handler {
	m := map[string]http.Handler{"GET /openapi/property.json": dialect.OpenAPIHandler(openAPIDocument)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("api-supported-versions", "1.0, 2.0")
		a.rt.ServeHTTP(w, r)
	})
	for _, p := range append(dialect.Subtree("/api/webhook-registrations"), dialect.Subtree("/api/webhooks")...) {
		m[p] = h
	}
	return m
}

// Routes lists the dialect's operations.
func (a *API) Routes() []string { return a.rt.Routes() }

// OpenAPI returns the dialect's OpenAPI document.
func (a *API) OpenAPI() []byte { return openAPIDocument }

// versionError is an api-version the API does not have.
type versionError struct{ value string }

func (e *versionError) Error() string { return "unsupported api-version " + strconv.Quote(e.value) }

// checkVersion refuses an api-version (or X-Api-Version) header that is
// none of Versions; absent is 2.0.
func checkVersion(r *http.Request) error {
	for _, name := range []string{"api-version", "X-Api-Version"} {
		for _, v := range r.Header.Values(name) {
			ok := strings.TrimSpace(v) == "" // as good as absent
			for _, want := range Versions {
				ok = ok || strings.TrimSpace(v) == want
			}
			if !ok {
				return &versionError{value: v}
			}
		}
	}
	return nil
}

// registration is a webhook as the seed shows it.
type registration struct {
	ID                  int64     `json:"id"`
	PartyID             int64     `json:"partyId"`
	TargetURL           string    `json:"targetUrl"`
	EnabledEvents       []event   `json:"enabledEvents"`
	IsGrouped           bool      `json:"isGrouped"`
	ContinueOnFailure   bool      `json:"continueOnFailure"`
	TargetAuthorization *authView `json:"targetAuthorization"`
	CreatedAt           time.Time `json:"createdAt"`
}

// event is an enabled event; its id is its place in the registration
// (1, 2, …).
type event struct {
	ID         int    `json:"id"`
	Type       int    `json:"type"`
	EntityName string `json:"entityName"`
}

// authView is targetAuthorization without its password.
type authView struct {
	AuthorizationType int    `json:"authorizationType"`
	Username          string `json:"username"`
}

// AuthorizationBasic is the seed's authorizationType of Basic auth, the
// only one.
const AuthorizationBasic = 1

// asRegistration shows w as a registration; ok is false for a webhook the
// seed cannot show: one whose filter is not exactly a party (a decimal
// int32 of at least 1) or whose event types are not all entity and type.
func asRegistration(w *hookd.Webhook) (registration, bool) {
	v, ok := w.Filter[FilterKey]
	party, err := strconv.ParseInt(v, 10, 32)
	if !ok || len(w.Filter) != 1 || err != nil || party < 1 || strconv.FormatInt(party, 10) != v || len(w.EventTypes) == 0 {
		return registration{}, false
	}
	reg := registration{ID: w.Number, PartyID: party, TargetURL: w.URL, EnabledEvents: make([]event, len(w.EventTypes)),
		IsGrouped: w.Grouped, ContinueOnFailure: w.ContinueOnFailure, CreatedAt: w.CreatedAt.UTC()}
	for i, t := range w.EventTypes {
		typ, entity, ok := ParseEventType(t)
		if !ok {
			return registration{}, false
		}
		reg.EnabledEvents[i] = event{ID: i + 1, Type: typ, EntityName: entity}
	}
	if w.Auth != nil && w.Auth.Type == hookd.AuthBasic {
		reg.TargetAuthorization = &authView{AuthorizationType: AuthorizationBasic, Username: w.Auth.Username}
	}
	return reg, true
}
