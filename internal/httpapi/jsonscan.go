package httpapi

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Splitting JSON that json.Valid has already accepted.
//
// Every raw value the request decoders see is a slice of a body that
// passed json.Valid (see decodeObject), so splitting an object into its
// members, or an array into its items, needs no second validation.
// json.Unmarshal checks its whole input again on every call, which made
// a 1000-event batch scan each event four or five times. These functions
// give the same results as json.Unmarshal into map[string]json.RawMessage,
// []json.RawMessage and string (later duplicate keys win; escaped or
// invalid UTF-8 strings are decoded by encoding/json itself), and fall back
// to it on anything they do not expect.

// members returns the members of the JSON object raw; ok is false when raw
// is not an object (null included).
func members(raw []byte) (map[string]json.RawMessage, bool) {
	m, ok := scanMembers(raw)
	if !ok {
		if json.Unmarshal(raw, &m) != nil || m == nil {
			return nil, false
		}
	}
	return m, true
}

// items returns the items of the JSON array raw; ok is false when raw is
// not an array (null included).
func items(raw []byte) ([]json.RawMessage, bool) {
	out, ok := scanItems(raw)
	if !ok {
		if json.Unmarshal(raw, &out) != nil || out == nil {
			return nil, false
		}
	}
	return out, true
}

// unquote decodes the JSON string token raw; ok is false for any other
// value.
func unquote(raw []byte) (string, bool) {
	raw = bytes.TrimSpace(raw)
	n := len(raw)
	if n < 2 || raw[0] != '"' {
		return "", false // null too, which json.Unmarshal would accept
	}
	if raw[n-1] == '"' && plain(raw[1:n-1]) {
		return string(raw[1 : n-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// plain reports whether s is the inside of a string token that means
// itself: no escape, quote or control character, valid UTF-8.
func plain(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(s)
}

func scanMembers(raw []byte) (map[string]json.RawMessage, bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	m := map[string]json.RawMessage{}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return m, true
	}
	for i < len(raw) && raw[i] == '"' {
		end := skipString(raw, i)
		if end < 0 {
			return nil, false
		}
		key, ok := unquote(raw[i:end])
		if !ok {
			return nil, false
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
		end = skipValue(raw, i)
		if end < 0 {
			return nil, false
		}
		m[key] = raw[i:end:end]
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return m, skipSpace(raw, i+1) == len(raw)
		default:
			return nil, false
		}
	}
	return nil, false
}

func scanItems(raw []byte) ([]json.RawMessage, bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return nil, false
	}
	out := []json.RawMessage{}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return out, skipSpace(raw, i+1) == len(raw)
	}
	for i < len(raw) {
		end := skipValue(raw, i)
		if end < 0 {
			return nil, false
		}
		out = append(out, raw[i:end:end])
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case ']':
			return out, skipSpace(raw, i+1) == len(raw)
		default:
			return nil, false
		}
	}
	return nil, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string token starting at b[i]
// ('"'), or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end := skipString(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		start := i
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if i == start {
					return -1
				}
				return i
			}
			i++
		}
		return i
	}
}
