package dialect

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/hookd/hookd"
)

// Object reads the members of one JSON object, collecting every problem
// under its path (`targetUrl`, `enabledEvents[0].type`, `endpoint.url`)
// with the native API's messages (catalogue keys): a required member that
// is missing or null, a member of the wrong type, a string no store can
// keep (hookd.CheckText) and, with Unknown, every member nobody read. A
// null member counts as absent. Objects inside it (Object.Object,
// Object.At) share its problems.
type Object struct {
	m      map[string]json.RawMessage
	prefix string
	used   map[string]bool
	f      *hookd.Fields
	bad    map[string]bool // paths already reported
}

// NewObject returns the reader of the members m of a request's body.
func NewObject(m map[string]json.RawMessage) *Object {
	return &Object{m: m, used: map[string]bool{}, f: &hookd.Fields{}, bad: map[string]bool{}}
}

func (o *Object) child(m map[string]json.RawMessage, path string) *Object {
	return &Object{m: m, prefix: path + ".", used: map[string]bool{}, f: o.f, bad: o.bad}
}

// Path returns the path of member name.
func (o *Object) Path(name string) string { return o.prefix + name }

// Add records that the member at path (a full path) breaks a rule, with
// the message of template format (a catalogue key) and args.
func (o *Object) Add(path, format string, args ...any) {
	o.f.Add(path, format, args...)
	o.bad[path] = true
}

// AddMsg records that the member at path breaks a rule, with message m.
func (o *Object) AddMsg(path string, m hookd.Msg) {
	o.f.AddMsg(path, m)
	o.bad[path] = true
}

// Covered reports whether a problem was recorded at path or at a member
// that holds it: a value that failed to decode is not judged again.
func (o *Object) Covered(path string) bool {
	for p := range o.bad {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

// Fields returns every problem recorded so far.
func (o *Object) Fields() hookd.Fields { return *o.f }

// Has reports whether member name is present and not null.
func (o *Object) Has(name string) bool {
	raw, ok := o.m[name]
	return ok && Kind(raw) != KindNull
}

// Raw returns member name, marked read; false when it is absent or null,
// and then, if required, "is required" is recorded.
func (o *Object) Raw(name string, required bool) (json.RawMessage, bool) {
	o.used[name] = true
	raw, ok := o.m[name]
	if !ok || Kind(raw) == KindNull {
		if required {
			o.Add(o.Path(name), "is required")
		}
		return nil, false
	}
	return raw, true
}

// Text decodes the JSON string raw found at path, recording a value of
// another kind or text no store can keep.
func (o *Object) Text(path string, raw json.RawMessage) (string, bool) {
	s, ok := String(raw)
	if !ok {
		o.Add(path, "must be a string")
		return "", false
	}
	if msg := hookd.CheckText(s, ""); !msg.IsZero() {
		o.AddMsg(path, msg)
		return "", false
	}
	return s, true
}

// String decodes the string member name.
func (o *Object) String(name string, required bool) (string, bool) {
	raw, ok := o.Raw(name, required)
	if !ok {
		return "", false
	}
	return o.Text(o.Path(name), raw)
}

// Int decodes the integer member name (see Int).
func (o *Object) Int(name string, required bool) (int64, bool) {
	raw, ok := o.Raw(name, required)
	if !ok {
		return 0, false
	}
	return o.IntAt(o.Path(name), raw)
}

// IntAt decodes the integer raw found at path.
func (o *Object) IntAt(path string, raw json.RawMessage) (int64, bool) {
	v, ok := Int(raw)
	if !ok {
		o.Add(path, "must be an integer")
	}
	return v, ok
}

// Bool decodes the boolean member name.
func (o *Object) Bool(name string, required bool) (bool, bool) {
	raw, ok := o.Raw(name, required)
	if !ok {
		return false, false
	}
	v, ok := Bool(raw)
	if !ok {
		o.Add(o.Path(name), "must be a boolean")
	}
	return v, ok
}

// Array decodes the array member name into its items.
func (o *Object) Array(name string, required bool) ([]json.RawMessage, bool) {
	raw, ok := o.Raw(name, required)
	if !ok {
		return nil, false
	}
	v, ok := Items(raw)
	if !ok {
		o.Add(o.Path(name), "must be an array")
	}
	return v, ok
}

// Strings decodes the member name, an array of strings. An item of
// another kind is recorded under its own path (name[i]) and the array
// comes back without it, false.
func (o *Object) Strings(name string, required bool) ([]string, bool) {
	items, ok := o.Array(name, required)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	good := true
	for i, it := range items {
		s, ok := o.Text(o.Path(name)+"["+strconv.Itoa(i)+"]", it)
		if !ok {
			good = false
			continue
		}
		out = append(out, s)
	}
	return out, good
}

// Object decodes the object member name into a reader of its members.
func (o *Object) Object(name string, required bool) (*Object, bool) {
	raw, ok := o.Raw(name, required)
	if !ok {
		return nil, false
	}
	return o.At(o.Path(name), raw)
}

// At decodes raw, found at path, as an object (an item of an array of
// objects, say).
func (o *Object) At(path string, raw json.RawMessage) (*Object, bool) {
	m, ok := Members(raw)
	if !ok {
		o.Add(path, "must be an object")
		return nil, false
	}
	return o.child(m, path), true
}

// StringListMap decodes the member name, an object of arrays of strings
// (`{"X-Name": ["v"]}`), recording every member of the wrong kind.
func (o *Object) StringListMap(name string, required bool) (map[string][]string, bool) {
	c, ok := o.Object(name, required)
	if !ok {
		return nil, false
	}
	out := make(map[string][]string, len(c.m))
	good := true
	for _, k := range c.Names() {
		p := c.Path(k)
		if msg := hookd.CheckText(k, "name"); !msg.IsZero() {
			o.AddMsg(p, msg)
			good = false
			continue
		}
		vals, ok := c.Strings(k, false)
		if !ok {
			if !c.Covered(p) {
				o.Add(p, "must be an array of strings")
			}
			good = false
			continue
		}
		out[k] = vals
	}
	return out, good
}

// Names returns the names of the object's members, sorted.
func (o *Object) Names() []string {
	names := make([]string, 0, len(o.m))
	for k := range o.m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Unknown records every member not read so far as "unknown field".
func (o *Object) Unknown() {
	for _, k := range o.Names() {
		if !o.used[k] {
			o.Add(o.Path(k), "unknown field")
		}
	}
}

// Err returns the problems recorded as one EINVALID error, or nil.
func (o *Object) Err() error { return o.f.Err() }
