package property

import (
	"errors"
	"net/http"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/catalog"
	"github.com/hookd/hookd/internal/dialect"
)

// problem is an RFC 7807 problem document as ASP.NET writes it: a
// validation problem carries errors, field path to messages.
type problem struct {
	Type       string              `json:"type"`
	Title      string              `json:"title"`
	Status     int                 `json:"status"`
	Detail     string              `json:"detail,omitempty"`
	Errors     map[string][]string `json:"errors,omitempty"`
	ExistingID *int64              `json:"existingId,omitempty"`
}

// problemTypes are the problem types ASP.NET gives each status (the
// sections of RFC 9110 and RFC 6585).
var problemTypes = map[int]string{
	400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
	401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
	403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
	404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
	405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
	409: "https://tools.ietf.org/html/rfc9110#section-15.5.10",
	413: "https://tools.ietf.org/html/rfc9110#section-15.5.14",
	415: "https://tools.ietf.org/html/rfc9110#section-15.5.16",
	429: "https://tools.ietf.org/html/rfc6585#section-4",
	500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
	503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
}

// titles are the titles of the other statuses: the native API's, whose
// German the catalogue has.
var titles = map[int]string{
	401: "Unauthorized",
	403: "Forbidden",
	404: "Not found",
	405: "Method not allowed",
	409: "Conflict",
	413: "Payload too large",
	415: "Unsupported media type",
	429: "Too many requests",
	500: "Internal server error",
	503: "Service unavailable",
}

// versioningProblem is the problem type ASP.NET API Versioning gives an
// unsupported api-version.
const versioningProblem = "https://docs.api-versioning.org/problems#unsupported"

// fail answers err as ASP.NET would, every text in the language the
// request's Accept-Language prefers (catalog.Negotiate): a validation
// problem naming every invalid field, or a problem with a title and
// detail. Internal errors are logged and answered without detail.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	lang := catalog.Negotiate(r.Header.Get("Accept-Language"))
	var ve *versionError
	status := dialect.Status(err)
	if errors.As(err, &ve) {
		status = http.StatusBadRequest
	}
	p := problem{Type: problemTypes[status], Status: status, Title: catalog.Message(lang, titles[status])}
	var se *dialect.StatusError
	var he *hookd.Error
	var ce *conflictError
	switch {
	case ve != nil:
		p.Type = versioningProblem
		p.Title = catalog.Render(lang, hookd.NewMsg("Unsupported API version"))
		p.Detail = catalog.Render(lang, hookd.NewMsg("the API version %q is not supported: use 1, 1.0, 2 or 2.0, or leave api-version out for 2.0", ve.value))
	case a.env.LogInternal(r, err):
	case errors.As(err, &se):
		p.Detail = catalog.Render(lang, se.Detail)
	case status == http.StatusBadRequest && errors.As(err, &he):
		p.Title = catalog.Render(lang, hookd.NewMsg("One or more validation errors occurred."))
		p.Errors = map[string][]string{}
		for _, fe := range he.Fields {
			p.Errors[fe.Field] = append(p.Errors[fe.Field], catalog.FieldMessage(lang, fe))
		}
		if len(he.Fields) == 0 {
			// A problem of the whole body: ASP.NET names it "$".
			p.Errors["$"] = []string{catalog.Render(lang, he.Msg())}
		}
	case errors.As(err, &he):
		p.Detail = catalog.Render(lang, he.Msg())
		if errors.As(err, &ce) {
			p.ExistingID = &ce.number
		}
	}
	dialect.Prepare(w, status)
	w.Header().Set("Content-Language", string(lang))
	w.Header().Set("Vary", "Accept-Language")
	dialect.WriteJSONType(w, status, "application/problem+json", p)
}
