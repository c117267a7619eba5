package hookd

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer maps each to a status; every other error is
// internal (500) and is logged, never shown.
const (
	EINVALID      = "invalid"      // 400: validation failed, see Fields
	EUNAUTHORIZED = "unauthorized" // 401: missing or unknown token
	EFORBIDDEN    = "forbidden"    // 403: token lacks the scope
	ENOTFOUND     = "not_found"    // 404: no such resource, or not visible
	ECONFLICT     = "conflict"     // 409: duplicate, reused key, bad transition
	ETOOLARGE     = "too_large"    // 413: body or payload over the limit
	ERATELIMITED  = "rate_limited" // 429
	EUNAVAILABLE  = "unavailable"  // 503: shutting down, store unreachable
	EINTERNAL     = "internal"     // 500: a bug
)

// FieldError names one invalid field by its JSON path (`url`,
// `event_types[1]`, `headers.X-Tenant`) and says what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is hookd's application error: a code, a message safe to show to the
// client, the invalid fields of a validation error and, for a conflict with
// an existing resource, its id.
type Error struct {
	Code       string
	Message    string
	Fields     []FieldError
	ExistingID string
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (%d invalid fields)", e.Code, e.Message, len(e.Fields))
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the *Error's message,
// or "internal error" for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Fields collects field errors; its Err is nil when none were added.
type Fields []FieldError

// Add records that field is invalid.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns an EINVALID *Error listing every field, or nil.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	msg := "1 field is invalid"
	if len(f) > 1 {
		msg = fmt.Sprintf("%d fields are invalid", len(f))
	}
	return &Error{Code: EINVALID, Message: msg, Fields: f}
}
