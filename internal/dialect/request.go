package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookd/hookd"
)

// MaxBody is the largest request body a dialect reads: 1 MiB, the native
// API's limit for every body but events.
const MaxBody = 1 << 20

// ReadBody reads r's body, at most MaxBody bytes (ETOOLARGE beyond). A
// body that is not empty must be JSON by its Content-Type, when it has one
// (a StatusError 415 otherwise, as the native API answers), and valid
// UTF-8 as RFC 8259 requires (EINVALID: no store could keep the bytes).
// The body comes back trimmed of white space, empty when there is none.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, hookd.Errorf(hookd.ETOOLARGE, "the body is larger than %d bytes", MaxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, hookd.Errorf(hookd.ETOOLARGE, "the body is larger than %d bytes", MaxBody)
	} else if err != nil {
		return nil, hookd.Errorf(hookd.EINVALID, "could not read the body")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return body, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return nil, UnsupportedMediaType()
		}
	}
	if !utf8.Valid(body) {
		return nil, hookd.Errorf(hookd.EINVALID, "the body must be valid UTF-8")
	}
	return body, nil
}

// UnsupportedMediaType is the 415 of a body that is not JSON.
func UnsupportedMediaType() error {
	return &StatusError{Status: http.StatusUnsupportedMediaType, Type: "unsupported-media-type",
		Title: "Unsupported media type", Detail: hookd.NewMsg("the body must be application/json")}
}

// ParseObject parses body, JSON that ReadBody returned, as an object into
// its members (a member given twice: the last wins). EINVALID for
// malformed JSON and for any other value.
func ParseObject(body []byte) (map[string]json.RawMessage, error) {
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, hookd.Errorf(hookd.EINVALID, "malformed JSON at byte %d: %s", se.Offset, se.Error())
		}
		return nil, hookd.Errorf(hookd.EINVALID, "malformed JSON")
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || m == nil {
		return nil, hookd.Errorf(hookd.EINVALID, "the body must be a JSON object")
	}
	return m, nil
}

// JSON value kinds, as Kind names them.
const (
	KindNull    = "null"
	KindString  = "string"
	KindNumber  = "number"
	KindBool    = "boolean"
	KindArray   = "array"
	KindObject  = "object"
	KindInvalid = ""
)

// Kind returns the kind of the valid JSON value raw.
func Kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return KindInvalid
	}
	switch c := raw[0]; {
	case c == 'n':
		return KindNull
	case c == '"':
		return KindString
	case c == 't' || c == 'f':
		return KindBool
	case c == '[':
		return KindArray
	case c == '{':
		return KindObject
	case c == '-' || (c >= '0' && c <= '9'):
		return KindNumber
	}
	return KindInvalid
}

// String decodes a JSON string; false for any other value.
func String(raw json.RawMessage) (string, bool) {
	if Kind(raw) != KindString {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// Int decodes a JSON number that is a whole number within ±2^53 (written
// 1000, 1000.0 or 1e3 alike); false for any other value.
func Int(raw json.RawMessage) (int64, bool) {
	if Kind(raw) != KindNumber {
		return 0, false
	}
	s := string(bytes.TrimSpace(raw))
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) || f > 1<<53 || f < -(1<<53) {
		return 0, false
	}
	return int64(f), true
}

// Bool decodes a JSON boolean.
func Bool(raw json.RawMessage) (bool, bool) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Items decodes a JSON array into its items.
func Items(raw json.RawMessage) ([]json.RawMessage, bool) {
	if Kind(raw) != KindArray {
		return nil, false
	}
	var out []json.RawMessage
	if json.Unmarshal(raw, &out) != nil {
		return nil, false
	}
	if out == nil {
		out = []json.RawMessage{}
	}
	return out, true
}

// Members decodes a JSON object into its members.
func Members(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	if Kind(raw) != KindObject {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}
