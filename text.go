package hookd

import (
	"strings"
	"unicode/utf8"
)

// CheckText says what keeps s from being stored, or is the zero Msg if
// nothing does. PostgreSQL's TEXT holds neither the NUL character nor
// bytes that are not UTF-8 (SQLSTATE 22021), and refuses them even in a
// query's parameters; SQLite keeps both. So that both stores answer
// alike, and bad input is a 4xx rather than the store's 500, every API
// (the native one and the dialects) refuses such text before a store sees
// it. what names the text in the message: "" for a value, "name" or "key"
// for a member's or a parameter's name.
func CheckText(s, what string) Msg {
	switch {
	case utf8.ValidString(s) && strings.IndexByte(s, 0) < 0:
		return Msg{}
	case what == "name" && !utf8.ValidString(s):
		return NewMsg("name must be valid UTF-8")
	case what == "name":
		return NewMsg("name must not contain NUL (U+0000)")
	case what == "key" && !utf8.ValidString(s):
		return NewMsg("key must be valid UTF-8")
	case what == "key":
		return NewMsg("key must not contain NUL (U+0000)")
	case !utf8.ValidString(s):
		return NewMsg("must be valid UTF-8")
	}
	return NewMsg("must not contain NUL (U+0000)")
}
