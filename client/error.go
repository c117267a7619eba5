package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ProblemTypeBase prefixes the type URI of every problem hookd answers;
// the rest names the problem (ProblemValidation, ProblemNotFound, …).
const ProblemTypeBase = "https://hookd.dev/errors/"

// The problem types of docs/API.md, as Error.Code returns them.
const (
	ProblemValidation           = "validation"             // 400
	ProblemUnauthorized         = "unauthorized"           // 401
	ProblemForbidden            = "forbidden"              // 403
	ProblemNotFound             = "not-found"              // 404
	ProblemMethodNotAllowed     = "method-not-allowed"     // 405
	ProblemConflict             = "conflict"               // 409
	ProblemTooLarge             = "too-large"              // 413
	ProblemUnsupportedMediaType = "unsupported-media-type" // 415
	ProblemRateLimited          = "rate-limited"           // 429
	ProblemInternal             = "internal"               // 500
	ProblemUnavailable          = "unavailable"            // 503
)

// FieldError names one invalid field of a request by its JSON path (`url`,
// `event_types[1]`, `headers.X-Tenant`, or a query parameter) and says
// what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an answer other than 2xx: hookd's RFC 9457 problem document, or
// for an answer that is not one (a proxy's error page), its status with the
// start of its body as Detail.
type Error struct {
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Type is the problem type URI (ProblemTypeBase + a Problem… name).
	Type string `json:"type"`
	// Title is the problem's short, fixed summary ("Validation failed").
	Title string `json:"title"`
	// Detail says what went wrong with this request.
	Detail string `json:"detail"`
	// Errors names every invalid field of a 400 (and a 413's payloads).
	Errors []FieldError `json:"errors"`
	// ExistingID is the id of the resource a 409 conflicts with, where
	// there is one (a webhook with the same URL, a tenant with the id).
	ExistingID string `json:"existing_id"`
	// RetryAfter is the answer's Retry-After (429, 503), 0 without one.
	RetryAfter time.Duration `json:"-"`
	// Method and Path are the request's, for the message.
	Method string `json:"-"`
	Path   string `json:"-"`
}

// Error returns a one-line description: the request, the status, the
// detail and each field error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("hookd: ")
	if e.Method != "" {
		b.WriteString(e.Method + " " + e.Path + ": ")
	}
	b.WriteString(strconv.Itoa(e.Status))
	if e.Title != "" {
		b.WriteString(" " + e.Title)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for i, f := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Message)
	}
	if e.ExistingID != "" {
		b.WriteString(" (existing_id " + e.ExistingID + ")")
	}
	return b.String()
}

// Code returns the problem's name: the type URI without ProblemTypeBase
// ("validation", "not-found", …), or "" for an answer that was not a
// hookd problem document, and for a nil *Error (AsError of another error).
func (e *Error) Code() string {
	if e == nil {
		return ""
	}
	if strings.HasPrefix(e.Type, ProblemTypeBase) {
		return e.Type[len(ProblemTypeBase):]
	}
	return ""
}

// FieldMessage returns the message of the field error naming field, or ""
// (also for a nil *Error).
func (e *Error) FieldMessage(field string) string {
	if e == nil {
		return ""
	}
	for _, f := range e.Errors {
		if f.Field == field {
			return f.Message
		}
	}
	return ""
}

// newError builds the *Error of a non-2xx answer.
func newError(method, path string, res *http.Response, body []byte) *Error {
	e := &Error{}
	ct := res.Header.Get("Content-Type")
	if !strings.Contains(ct, "json") || json.Unmarshal(body, e) != nil || e.Type == "" {
		// Not hookd's problem document (a proxy's page, say).
		*e = Error{Title: http.StatusText(res.StatusCode), Detail: snippet(body)}
	}
	// The status is the answer's own, whatever a body says.
	e.Status, e.Method, e.Path = res.StatusCode, method, path
	e.RetryAfter = parseRetryAfter(res.Header.Get("Retry-After"), time.Now())
	return e
}

// snippet returns the start of a body that is not a problem document, as
// one line.
func snippet(b []byte) string {
	const n = 200
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// parseRetryAfter reads a Retry-After header: whole seconds or an HTTP
// date; 0 when absent or malformed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(min(n, int64(1<<31))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func hasStatus(err error, status int) bool {
	e := AsError(err)
	return e != nil && e.Status == status
}

// IsValidation reports whether err is a 400: the request was invalid;
// Errors names each field at fault.
func IsValidation(err error) bool { return hasStatus(err, http.StatusBadRequest) }

// IsUnauthorized reports whether err is a 401: the token is missing or
// unknown.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsForbidden reports whether err is a 403: the token lacks the scope.
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsNotFound reports whether err is a 404: no such resource, or one in a
// tenant the token may not see.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is a 409: a duplicate (ExistingID names
// the resource), an idempotency key reused with another body, or a state
// transition that makes no sense.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsTooLarge reports whether err is a 413: the body or a payload is over
// the server's limit.
func IsTooLarge(err error) bool { return hasStatus(err, http.StatusRequestEntityTooLarge) }

// IsRateLimited reports whether err is a 429 (after the retries the policy
// allows); Error.RetryAfter says when to try again.
func IsRateLimited(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// IsUnavailable reports whether err is a 503: the server is shutting
// down, its store is unreachable, or (test calls) it runs no delivery
// engine.
func IsUnavailable(err error) bool { return hasStatus(err, http.StatusServiceUnavailable) }

var _ error = (*Error)(nil)

// errorf is an error of this package's own (not an answer).
func errorf(format string, args ...any) error {
	return fmt.Errorf("hookd client: "+format, args...)
}
