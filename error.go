package hookd

import (
	"errors"
	"fmt"
	"strings"
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

// Messages shown to clients are made from a template and its arguments:
// the template is the English text with fmt verbs ("must be at most %d
// characters") and the key by which a message catalogue (package catalog)
// finds the same message in another language; the domain knows no other
// language. FieldError and Error keep both the English text and what it
// was made of (Key, Args), so a caller may render them again in the
// client's language.

// Msg is a client-facing message not yet rendered: Key is its template
// (the English text with fmt verbs, and the catalogue's key), Args fill
// the verbs. The zero Msg is no message.
type Msg struct {
	Key  string
	Args []any
}

// NewMsg returns the message of template key with args.
func NewMsg(key string, args ...any) Msg { return Msg{Key: key, Args: args} }

// Text returns a message that is s itself, without arguments: the key is
// s with every % doubled, so that s renders as written. For texts made
// elsewhere (a TargetChecker's reasons).
func Text(s string) Msg { return Msg{Key: strings.ReplaceAll(s, "%", "%%")} }

// IsZero reports whether m is no message.
func (m Msg) IsZero() bool { return m.Key == "" }

// String renders m in English.
func (m Msg) String() string {
	if m.Key == "" {
		return ""
	}
	return fmt.Sprintf(m.Key, m.Args...)
}

// FieldError names one invalid field by its JSON path (`url`,
// `event_types[1]`, `headers.X-Tenant`) and says what is wrong with it:
// Message in English, made of the template Key and its Args (see Msg).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Key     string `json:"-"`
	Args    []any  `json:"-"`
}

// Msg returns what the message was made of: Key and Args, or (for a
// FieldError built without a key) its Message as a Text.
func (fe FieldError) Msg() Msg {
	if fe.Key == "" {
		return Text(fe.Message)
	}
	return Msg{Key: fe.Key, Args: fe.Args}
}

// Error is hookd's application error: a code, a message safe to show to the
// client (in English, made of the template Key and its Args, see Msg), the
// invalid fields of a validation error and, for a conflict with an
// existing resource, its id.
type Error struct {
	Code       string
	Message    string
	Key        string
	Args       []any
	Fields     []FieldError
	ExistingID string
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (%d invalid fields)", e.Code, e.Message, len(e.Fields))
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Msg returns what the error's message was made of: Key and Args, or (for
// an Error built without a key) its Message as a Text.
func (e *Error) Msg() Msg {
	if e.Key == "" {
		return Text(e.Message)
	}
	return Msg{Key: e.Key, Args: e.Args}
}

// Errorf returns an *Error with the code and the message of template
// format (the catalogue's key) and args.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Key: format, Args: args}
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

// InternalErrorMessage is the message of every error that is not an
// *Error: what went wrong inside is not the client's to see.
const InternalErrorMessage = "internal error"

// ErrorMessage returns the client-safe message of err: the *Error's message,
// or InternalErrorMessage for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return InternalErrorMessage
}

// Fields collects field errors; its Err is nil when none were added.
type Fields []FieldError

// Add records that field is invalid, with the message of template format
// (the catalogue's key) and args.
func (f *Fields) Add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...), Key: format, Args: args})
}

// AddMsg records that field is invalid, with message m.
func (f *Fields) AddMsg(field string, m Msg) {
	*f = append(*f, FieldError{Field: field, Message: m.String(), Key: m.Key, Args: m.Args})
}

// Err returns an EINVALID *Error listing every field, or nil.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	e := Errorf(EINVALID, "1 field is invalid")
	if len(f) > 1 {
		e = Errorf(EINVALID, "%d fields are invalid", len(f))
	}
	e.Fields = f
	return e
}
