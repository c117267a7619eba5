// Package device serves the access-control device platform's webhook API
// (seed 003): webhooks with an integer uid (the webhook's number), a
// status, a timeout, headers as a JSON object serialised in a string, the
// device's log event types and 1..5 retries, test calls with extra
// headers, and the seed's errors: one per answer, the first found, as
// {"error": "…"} in its fixed English. A device webhook is an ordinary
// webhook whose event types are all the seed's log types.
package device

import (
	_ "embed"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/access"
	"github.com/hookd/hookd/internal/dialect"
)

//go:embed openapi.json
var openAPIDocument []byte

// EventTypes are the seed's 41 event types, in its order.
var EventTypes = []string{
	"log.access_denied_by_not_valid_identifier", "log.access_denied_by_not_valid_face_identifier",
	"log.access_denied_by_not_valid_input_code", "log.access_denied_by_remote_server_api_call",
	"log.access_denied_by_unknown_card", "log.access_granted_by_api_call", "log.access_granted_by_call_host",
	"log.access_granted_by_master_code", "log.access_granted_by_remote_server_api_call",
	"log.access_granted_by_valid_identifier", "log.door_was_closed", "log.door_sensor_was_closed",
	"log.door_was_opened", "log.door_sensor_was_opened", "log.emergency_lock_is_opened", "log.lock_is_opened_to_long",
	"log.lock_was_opened_by_exit_btn", "log.lock_was_opened_by_free_access_button", "log.incoming_call",
	"log.outgoing_call", "log.outgoing_call_missed", "log.device_booted", "log.sip_registration_lost",
	"log.outgoing_call_web", "log.incorrect_login_api_call", "log.incorrect_login_gui_settings",
	"log.successful_login_api_call", "log.successful_login_gui_settings", "log.door_was_not_closed_too_long",
	"log.tamper_event", "log.multi_access_granted", "log.identifiers_without_linkage_to_user_access_denied",
	"log.multi_access_denied", "log.access_denied_by_unknown_qr", "log.access_denied_unknown_identifier",
	"log.lift_call_success", "log.lift_call_error", "log.lift_module_access_error",
	"log.access_granted_by_shared_identifier", "log.access_denied_by_not_valid_shared_identifier",
	"log.bond_lift_request",
}

// The seed's statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Limits of the seed's fields beyond the domain's.
const (
	MinURLLen     = 4
	MaxURLLen     = 2000
	MinMaxRetries = 1
	MaxMaxRetries = 5
)

// The seed's messages.
const (
	MsgWrongBody   = "Wrong JSON body"
	MsgURL         = "Invalid URL format. Must be HTTP URL"
	MsgSecret      = "Invalid secret"
	MsgStatus      = "Status must be 'active' or 'disabled'"
	MsgTimeout     = "Invalid timeout"
	MsgHeaderName  = "Invalid header name"
	MsgHeaderValue = "Invalid header value"
	MsgDescription = "Invalid description"
	MsgEventTypes  = "Invalid event types"
	MsgMaxRetries  = "Max retries must be between 1 and 5"
	MsgSameURL     = "Webhook with the same URL already exists"
	MsgLogIn       = "Log In"
	MsgAdmin       = "Administrator rights required"
	MsgNotFound    = "Webhook not found"
)

// Admin is what the seed's writes need: "Administrator rights required".
var Admin = access.Need{hookd.ScopeAdmin}

// API is the device dialect.
type API struct {
	env dialect.Env
	rt  dialect.Router
}

// New returns the device dialect of env.
func New(env dialect.Env) *API {
	a := &API{env: env}
	a.rt.Env = &a.env
	a.rt.Fail = a.fail
	a.rt.Handle("POST /webhooks", a.create)
	a.rt.Handle("GET /webhooks", a.list)
	a.rt.Handle("GET /webhooks/{uid}", a.get)
	a.rt.Handle("PUT /webhooks/{uid}", a.put)
	a.rt.Handle("DELETE /webhooks/{uid}", a.delete)
	a.rt.Handle("POST /webhooks/{uid}/test", a.test)
	return a
}

// Mounts returns the dialect's paths, whatever their method, and its
// OpenAPI document.
func (a *API) Mounts() map[string]http.Handler {
	m := map[string]http.Handler{"GET /openapi/device.json": dialect.OpenAPIHandler(openAPIDocument)}
	for _, p := range dialect.Subtree("/webhooks") {
		m[p] = &a.rt
	}
	return m
}

// Routes lists the dialect's operations.
func (a *API) Routes() []string { return a.rt.Routes() }

// OpenAPI returns the dialect's OpenAPI document.
func (a *API) OpenAPI() []byte { return openAPIDocument }

// isDevice reports whether every event type of w is one of the seed's.
func isDevice(w *hookd.Webhook) bool {
	if len(w.EventTypes) == 0 {
		return false
	}
	for _, t := range w.EventTypes {
		if !slices.Contains(EventTypes, t) {
			return false
		}
	}
	return true
}

// seedError is an answer in the seed's words.
type seedError struct {
	status int
	msg    string
}

func (e *seedError) Error() string { return e.msg }

func badRequest(msg string) error { return &seedError{http.StatusBadRequest, msg} }

var errNotFound = &seedError{http.StatusNotFound, MsgNotFound}

// tenant authenticates r for need: a write needs admin, and a key
// without it is "Administrator rights required".
func (a *API) tenant(w http.ResponseWriter, r *http.Request, need access.Need) (string, error) {
	tenant, err := a.env.KeyTenant(w, r, need)
	if hookd.ErrorCode(err) == hookd.EFORBIDDEN && need[0] == hookd.ScopeAdmin && !errors.Is(err, dialect.ErrRootHasNoTenant) {
		return "", &seedError{http.StatusForbidden, MsgAdmin}
	}
	return tenant, err
}

// webhookOf returns the tenant's device webhook whose number is the
// path's uid.
func (a *API) webhookOf(r *http.Request, tenant string) (*hookd.Webhook, error) {
	n, err := strconv.ParseInt(r.PathValue("uid"), 10, 64)
	if err != nil || n < 1 {
		return nil, errNotFound
	}
	wh, err := a.env.Store.GetWebhookByNumber(r.Context(), tenant, n)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND || err == nil && !isDevice(wh) {
		return nil, errNotFound
	}
	return wh, err
}

// itemUID is the seed's answer of a write.
type itemUID struct {
	ItemUID int64 `json:"item_uid"`
}

// answer is an error as the seed answers it.
type answer struct {
	Error string `json:"error"`
}

// fail answers err as {"error": "…"}: the seed's words where it has them,
// else the English message.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := dialect.Status(err), hookd.ErrorMessage(err)
	var se *seedError
	var ste *dialect.StatusError
	switch {
	case errors.As(err, &se):
		status, msg = se.status, se.msg
	case a.env.LogInternal(r, err):
		msg = "Internal server error"
	case status == http.StatusUnauthorized:
		msg = MsgLogIn
	case status == http.StatusBadRequest:
		msg = MsgWrongBody // a body that could not be read: not JSON, not UTF-8
	case errors.As(err, &ste):
		msg = ste.Detail.String()
	case status == http.StatusNotFound:
		msg = "Not found"
	}
	dialect.Prepare(w, status)
	dialect.WriteJSON(w, status, answer{msg})
}
