package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Request body limits. An event's body may be larger than its payload limit
// (pretty-printed JSON, the other fields); a batch gets room for many events.
const (
	defaultBodyLimit = 1 << 20  // every body but events
	minBatchLimit    = 16 << 20 // events/batch, at least
)

// readObject reads a JSON object body of at most limit bytes. An empty body
// is an empty object unless required. It checks the Content-Type (415 for
// anything but JSON), the size (413) and the syntax (400); each string that
// is not UTF-8 is an error of the object returned (RFC 8259 requires UTF-8
// between systems, and a store could not keep the bytes; see text.go).
func (s *Server) readObject(w http.ResponseWriter, r *http.Request, limit int64, required bool) (*obj, error) {
	body, err := readBody(w, r, limit)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			return nil, hookd.Errorf(hookd.EINVALID, "a JSON object body is required")
		}
		return newObj(map[string]json.RawMessage{}, ""), nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return nil, &problemError{status: http.StatusUnsupportedMediaType, typ: "unsupported-media-type",
				title: "Unsupported media type", detail: hookd.NewMsg("the body must be application/json")}
		}
	}
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	o := newObj(m, "")
	o.invalidUTF8(body)
	return o, nil
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, hookd.Errorf(hookd.ETOOLARGE, "the body is larger than %d bytes", limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, hookd.Errorf(hookd.ETOOLARGE, "the body is larger than %d bytes", limit)
	} else if err != nil {
		return nil, hookd.Errorf(hookd.EINVALID, "could not read the body")
	}
	return body, nil
}

// decodeObject parses a JSON object into its raw members; malformed JSON
// and other values are EINVALID with a detail saying so.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, hookd.Errorf(hookd.EINVALID, "malformed JSON at byte %d: %s", se.Offset, se.Error())
		}
		return nil, hookd.Errorf(hookd.EINVALID, "malformed JSON")
	}
	m, ok := members(body)
	if !ok {
		return nil, hookd.Errorf(hookd.EINVALID, "the body must be a JSON object")
	}
	return m, nil
}

// obj decodes the members of one JSON object field by field, collecting
// every problem with its path instead of stopping at the first.
type obj struct {
	m      map[string]json.RawMessage
	prefix string
	used   map[string]bool
	f      *hookd.Fields
	bad    map[string]bool // paths that failed to decode
}

func newObj(m map[string]json.RawMessage, prefix string) *obj {
	return &obj{m: m, prefix: prefix, used: map[string]bool{}, f: &hookd.Fields{}, bad: map[string]bool{}}
}

// child returns the decoder of a nested object sharing o's error list.
func (o *obj) child(m map[string]json.RawMessage, name string) *obj {
	return &obj{m: m, prefix: o.prefix + name + ".", used: map[string]bool{}, f: o.f, bad: o.bad}
}

func (o *obj) add(field, format string, args ...any) {
	o.f.Add(field, format, args...)
	o.bad[field] = true
}

func (o *obj) addMsg(field string, m hookd.Msg) {
	o.f.AddMsg(field, m)
	o.bad[field] = true
}

func (o *obj) path(name string) string { return o.prefix + name }

// get returns the raw value of name, marks it used, and whether it is
// present and not null.
func (o *obj) get(name string) (json.RawMessage, bool) {
	raw, ok := o.m[name]
	o.used[name] = true
	if !ok || isNull(raw) {
		return nil, false
	}
	return raw, true
}

// present reports whether name is in the object (null included).
func (o *obj) present(name string) bool { _, ok := o.m[name]; return ok }

// isNullField reports whether name is present with the value null.
func (o *obj) isNullField(name string) bool {
	raw, ok := o.m[name]
	return ok && isNull(raw)
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// unknown reports every member not read so far (and not reported yet: a
// name that is not UTF-8).
func (o *obj) unknown() {
	var names []string
	for k := range o.m {
		if !o.used[k] && !o.bad[o.path(k)] {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		o.add(o.path(k), "unknown field")
	}
}

// readOnly reports the given members as read-only if present.
func (o *obj) readOnly(names ...string) {
	for _, n := range names {
		if o.present(n) {
			o.used[n] = true
			o.add(o.path(n), "is read-only")
		}
	}
}

// err returns the collected errors as one EINVALID error, or nil.
func (o *obj) err() error { return o.f.Err() }

// field is one member of a JSON object as a body reads it: absent, null,
// or a value. A value that failed to decode (its error recorded in the
// obj) counts as absent: it changes nothing.
type field[T any] struct {
	set   bool // present with a value, decoded into value
	null  bool // present as null
	value T
}

// apply writes f onto dst: a value replaces it, null resets it to reset,
// absence leaves it as it is (PATCH keeps the stored value; create and PUT
// start from the defaults, so there absence and null are alike).
func (f field[T]) apply(dst *T, reset T) {
	switch {
	case f.set:
		*dst = f.value
	case f.null:
		*dst = reset
	}
}

// member reads the member name of o as a field, decoding a value with
// read (one of obj's decoders).
func member[T any](o *obj, name string, read func(name string) (T, bool)) field[T] {
	if v, ok := read(name); ok {
		return field[T]{set: true, value: v}
	}
	return field[T]{null: o.isNullField(name)}
}

// into turns a decoder that writes into a destination (str, boolean,
// integer, duration) into one that returns its value, for member.
func into[T any](read func(name string, dst *T) bool) func(name string) (T, bool) {
	return func(name string) (T, bool) {
		var v T
		ok := read(name, &v)
		return v, ok
	}
}

// str decodes a string member into dst; false when absent, null or
// invalid (then the error was recorded).
func (o *obj) str(name string, dst *string) bool {
	raw, ok := o.get(name)
	if !ok {
		return false
	}
	s, ok := o.text(o.path(name), raw)
	if !ok || o.bad[o.path(name)] {
		return false
	}
	*dst = s
	return true
}

// text decodes the JSON string raw found at path; ok is false, and the
// error recorded, for any other value. A string no store can keep (see
// textProblem) is recorded too, but returned with ok, so that it keeps its
// place; its validation errors are left out (see covered).
func (o *obj) text(path string, raw json.RawMessage) (string, bool) {
	s, ok := asString(raw)
	if !ok {
		o.add(path, "must be a string")
		return "", false
	}
	if msg := textProblem(s, ""); !msg.IsZero() && !o.bad[path] {
		o.addMsg(path, msg)
	}
	return s, true
}

// memberName records a member name no store can keep (see textProblem),
// the member being at path; what is how the rules call the name ("key").
func (o *obj) memberName(path, name, what string) {
	if msg := textProblem(name, what); !msg.IsZero() && !o.bad[path] {
		o.addMsg(path, msg)
	}
}

func (o *obj) boolean(name string, dst *bool) bool {
	raw, ok := o.get(name)
	if !ok {
		return false
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		o.add(o.path(name), "must be a boolean")
		return false
	}
	return true
}

func (o *obj) integer(name string, dst *int) bool {
	raw, ok := o.get(name)
	if !ok {
		return false
	}
	v, ok := parseInt(raw)
	if !ok {
		o.add(o.path(name), "must be an integer")
		return false
	}
	*dst = v
	return true
}

func parseInt(raw json.RawMessage) (int, bool) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// 1e3 and 1000.0 are integers in JSON's eyes; accept whole values.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) || f > 1<<53 || f < -(1<<53) {
			return 0, false
		}
		return int(f), true
	}
	return int(v), true
}

func (o *obj) duration(name string, dst *hookd.Duration) bool {
	raw, ok := o.get(name)
	if !ok {
		return false
	}
	if err := dst.UnmarshalJSON(raw); err != nil {
		o.add(o.path(name), "must be a duration string like \"90s\", \"5m\" or \"120h\"")
		return false
	}
	return true
}

func (o *obj) timestamp(name string, dst *time.Time) bool {
	raw, ok := o.get(name)
	if !ok {
		return false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		o.add(o.path(name), "must be an RFC 3339 time string")
		return false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		o.add(o.path(name), "must be an RFC 3339 time string")
		return false
	}
	*dst = t.UTC()
	return true
}

// list decodes an array, calling each for every element with its path.
func (o *obj) list(name string, each func(path string, raw json.RawMessage)) bool {
	raw, ok := o.get(name)
	if !ok {
		return false
	}
	list, ok := items(raw)
	if !ok {
		o.add(o.path(name), "must be an array")
		return false
	}
	p := o.path(name)
	for i, it := range list {
		each(p+"["+strconv.Itoa(i)+"]", it)
	}
	return true
}

// strList decodes an array of strings; ok is false when absent, null or
// not an array (then errors were recorded). An item of the wrong type (kept
// as "") or holding text no store can keep is reported under its own path
// and kept in its place, so that the other items are still validated under
// their own indexes (the item's validation errors are left out, see
// covered).
func (o *obj) strList(name string) ([]string, bool) {
	out := []string{}
	if !o.list(name, func(p string, raw json.RawMessage) {
		s, _ := o.text(p, raw)
		out = append(out, s)
	}) {
		return nil, false
	}
	return out, true
}

func (o *obj) rawMap(name string) (map[string]json.RawMessage, bool) {
	raw, ok := o.get(name)
	if !ok {
		return nil, false
	}
	m, ok := members(raw)
	if !ok {
		o.add(o.path(name), "must be an object")
		return nil, false
	}
	return m, true
}

// strMap decodes an object of strings.
func (o *obj) strMap(name string) (map[string]string, bool) {
	m, ok := o.rawMap(name)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(m))
	good := true
	for _, k := range sortedKeys(m) {
		p := o.path(name) + "." + k
		o.memberName(p, k, "key")
		s, ok := o.text(p, m[k])
		if !ok {
			good = false
			continue
		}
		out[k] = s
	}
	if !good {
		o.bad[o.path(name)] = true
	}
	return out, good
}

// strListMap decodes an object of string arrays.
func (o *obj) strListMap(name string) (map[string][]string, bool) {
	m, ok := o.rawMap(name)
	if !ok {
		return nil, false
	}
	out := make(map[string][]string, len(m))
	good := true
	for _, k := range sortedKeys(m) {
		p := o.path(name) + "." + k
		o.memberName(p, k, "name")
		list, ok := items(m[k])
		if !ok {
			o.add(p, "must be an array of strings")
			good = false
			continue
		}
		vals := make([]string, 0, len(list))
		for i, it := range list {
			s, ok := o.text(fmt.Sprintf("%s[%d]", p, i), it)
			if !ok {
				good = false
				continue
			}
			vals = append(vals, s)
		}
		out[k] = vals
	}
	if !good {
		o.bad[o.path(name)] = true
	}
	return out, good
}

// asString decodes a JSON string; null and every other value are not.
func asString(raw json.RawMessage) (string, bool) {
	if isNull(raw) {
		return "", false
	}
	return unquote(raw)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// mergeValidation appends the domain validation errors of err to o's,
// leaving out fields (and their children) that already failed to decode:
// a value that was not even of the right type need not be reported twice.
func (o *obj) mergeValidation(err error) error {
	var he *hookd.Error
	if err == nil {
		return nil
	}
	if !errors.As(err, &he) || he.Code != hookd.EINVALID {
		return err
	}
	for _, fe := range he.Fields {
		if o.covered(fe.Field) {
			continue
		}
		*o.f = append(*o.f, fe)
	}
	return nil
}

func (o *obj) covered(field string) bool {
	for p := range o.bad {
		if field == p || strings.HasPrefix(field, p+".") || strings.HasPrefix(field, p+"[") {
			return true
		}
	}
	return false
}

// Query parameters.

// query parses the query string; a malformed one is EINVALID. A parameter
// whose name or a value holds text no store can keep (see textProblem) is
// added to f and left out of the values returned, so that it is reported
// once, with the other parameters' problems.
func query(r *http.Request, f *hookd.Fields) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, hookd.Errorf(hookd.EINVALID, "malformed query string")
	}
	for _, name := range sortedKeys(q) {
		msg := textProblem(name, "name")
		for _, v := range q[name] {
			if msg.IsZero() {
				msg = textProblem(v, "")
			}
		}
		if !msg.IsZero() {
			f.AddMsg(name, msg)
			delete(q, name)
		}
	}
	return q, nil
}

var cursorPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// pageOf reads limit (1..1000, default 50) and cursor, which decode turns
// into the last item's key (an id; a name for the event types). The limit
// returned is one more than asked so that the answer knows whether a next
// page exists.
func pageOf(q url.Values, f *hookd.Fields, decode func(string) (string, bool)) (hookd.Page, int) {
	limit := 50
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v[0]))
		if err != nil || n < 1 || n > 1000 || len(v) > 1 {
			f.Add("limit", "must be an integer between 1 and 1000")
		} else {
			limit = n
		}
	}
	p := hookd.Page{Limit: limit + 1}
	if v, ok := q["cursor"]; ok && v[0] != "" {
		after, ok := decode(v[0])
		if !ok || len(v) > 1 {
			f.Add("cursor", "is not a cursor this API returned")
		} else {
			p.After = after
		}
	}
	return p, limit
}

func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

func decodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !cursorPattern.Match(b) {
		return "", false
	}
	return string(b), true
}

// listAnswer is the shape of every list.
type listAnswer struct {
	Data       any     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// paginate cuts items (fetched with limit+1) to limit and writes the list.
func paginate[T any, V any](w http.ResponseWriter, items []T, limit int, id func(T) string, view func(T) V) {
	var next *string
	if len(items) > limit {
		items = items[:limit]
		c := encodeCursor(id(items[len(items)-1]))
		next = &c
	}
	data := make([]V, len(items))
	for i, it := range items {
		data[i] = view(it)
	}
	writeJSON(w, http.StatusOK, listAnswer{Data: data, NextCursor: next})
}

func queryBool(q url.Values, name string, f *hookd.Fields) *bool {
	v, ok := q[name]
	if !ok {
		return nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v[0]))
	if err != nil || len(v) > 1 {
		f.Add(name, "must be true or false")
		return nil
	}
	return &b
}

func queryTime(q url.Values, name string, f *hookd.Fields) *time.Time {
	v, ok := q[name]
	if !ok || v[0] == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, v[0])
	if err != nil || len(v) > 1 {
		f.Add(name, "must be an RFC 3339 time")
		return nil
	}
	t = t.UTC()
	return &t
}
