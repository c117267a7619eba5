package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookd/hookd"
)

// Text the stores cannot keep.
//
// PostgreSQL's TEXT holds neither the NUL character nor bytes that are not
// UTF-8 (SQLSTATE 22021), and it refuses them even in a query's parameters;
// SQLite keeps both. So that both stores answer alike, and bad input is a
// 4xx rather than the store's 500, the API refuses such text before any
// store sees it, in one place per kind of input:
//
//   - a body that is not UTF-8: readObject, naming each string that holds
//     the bytes (invalidUTF8);
//   - a decoded string with U+0000: the obj decoders (obj.text), with the
//     body's other problems;
//   - a path id: the auth guards, 404 like any id that does not exist
//     (pathNotFound);
//   - a query parameter: query, 400 naming it.
//
// The escape \u0000 inside an event payload is fine: the payload is kept
// as its JSON text, which stays valid UTF-8 without a NUL byte.

// textProblem says what keeps s from being stored (see hookd.CheckText,
// the rule the dialects apply too), or is the zero Msg if nothing does.
func textProblem(s, what string) hookd.Msg { return hookd.CheckText(s, what) }

// maxUTF8Errors is how many strings that are not UTF-8 one body names at
// most: the walk stops there, so a large body of them answers small.
const maxUTF8Errors = 100

// invalidUTF8 adds to o each string of the JSON object body (valid JSON)
// that is not valid UTF-8, named by its path like any other field
// (`payload.a[1]`, up to maxUTF8Errors of them); a member name that is not
// is reported on its member (those bytes shown as U+FFFD). One pass over
// the body, however deep.
func (o *obj) invalidUTF8(body []byte) {
	if utf8.Valid(body) {
		return
	}
	type level struct {
		array bool
		n     int    // the item's index in an array
		name  string // the member's name in an object
	}
	var stack []level
	path := func() string {
		var b strings.Builder
		for i, l := range stack {
			switch {
			case l.array:
				b.WriteString("[" + strconv.Itoa(l.n) + "]")
			case i > 0:
				b.WriteString("." + l.name)
			default:
				b.WriteString(l.name)
			}
		}
		return b.String()
	}
	found, name := 0, false // name: the next string is a member name
	for i := 0; i < len(body) && found < maxUTF8Errors; {
		switch body[i] {
		case '{':
			stack = append(stack, level{})
			name = true
		case '[':
			stack = append(stack, level{array: true})
			name = false
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			name = false
		case ',':
			if top := len(stack) - 1; top >= 0 && stack[top].array {
				stack[top].n++
			} else {
				name = true
			}
		case '"':
			end := skipString(body, i)
			if end < 0 || len(stack) == 0 {
				return // not what decodeObject accepts
			}
			tok := body[i:end]
			switch {
			case name:
				stack[len(stack)-1].name, _ = unquote(tok) // bytes that are not UTF-8 become U+FFFD
				name = false
				if !utf8.Valid(tok) {
					o.add(path(), "name must be valid UTF-8")
					found++
				}
			case !utf8.Valid(tok):
				o.add(path(), "must be valid UTF-8")
				found++
			}
			i = end
			continue
		}
		i++ // white space, ':', numbers and literals: ASCII
	}
}

// pathNotFound returns the 404 of a request whose path value name
// ("tenant" or "id") holds text no store can keep (see textProblem), or
// nil: no such resource can exist, so the store is not asked.
func pathNotFound(r *http.Request, name string) error {
	if textProblem(r.PathValue(name), "").IsZero() {
		return nil
	}
	if name == "tenant" {
		return hookd.Errorf(hookd.ENOTFOUND, "tenant not found")
	}
	// The collection before the id says what the id is.
	before, _, _ := strings.Cut(r.Pattern, "/{"+name+"}")
	switch before[strings.LastIndexByte(before, '/')+1:] {
	case "keys":
		return hookd.Errorf(hookd.ENOTFOUND, "api key not found")
	case "webhooks":
		return hookd.Errorf(hookd.ENOTFOUND, "webhook not found")
	case "events":
		return hookd.Errorf(hookd.ENOTFOUND, "event not found")
	case "messages":
		return hookd.Errorf(hookd.ENOTFOUND, "message not found")
	}
	return hookd.Errorf(hookd.ENOTFOUND, "resource not found")
}
