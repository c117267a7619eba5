// Package catalog is hookd's message catalogue: every text hookd shows a
// client (validation messages, problem titles and details), in English
// and German, chosen by the request's Accept-Language. The native API,
// the dialects and the dashboard render through it.
//
// A message's key is its English template, the text with fmt verbs, as
// the domain writes it ("must be at most %d characters"; see hookd.Msg):
// the domain stays free of languages, and a hookd.FieldError or
// *hookd.Error carries its key and arguments, so that it renders here in
// the client's language. German templates may reorder the arguments with
// explicit indexes (%[2]d). A key without a German text renders in
// English; the package's tests make sure that every key the code uses has
// one.
package catalog

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hookd/hookd"
)

// Lang is a language of the catalogue, written as its language tag (the
// value of Content-Language).
type Lang string

// The catalogue's languages.
const (
	English Lang = "en"
	German  Lang = "de"
)

// Langs lists every language; English, the default, first.
var Langs = []Lang{English, German}

// Negotiate returns the language an Accept-Language header value prefers
// (RFC 9110, section 12.5.4): German for `de` and any `de-*` tag, and for
// `en-DE`, the tag the property seed names its German by; English for
// `en`, `en-*` and `*`. The range of the highest q-value (default 1) that
// names one of them wins, the first of equal ones; q=0 refuses. English
// when none does, or the header is absent or malformed.
func Negotiate(acceptLanguage string) Lang {
	best, bestQ := English, -1.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || strings.ToLower(strings.TrimSpace(name)) != "q" {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil || !(v >= 0 && v <= 1) { // NaN too
				v = 0 // malformed: the range is ignored
			}
			q = v
		}
		lang, ok := langOf(tag)
		if !ok || q <= 0 || q <= bestQ {
			continue
		}
		best, bestQ = lang, q
	}
	return best
}

// langOf maps a lower-case language range to a language of the catalogue.
func langOf(tag string) (Lang, bool) {
	switch {
	case tag == "de" || strings.HasPrefix(tag, "de-") || tag == "en-de":
		return German, true
	case tag == "en" || strings.HasPrefix(tag, "en-") || tag == "*":
		return English, true
	}
	return "", false
}

// Template returns the template of key in lang, and whether lang has one
// (English has every key: the key is its English template).
func Template(lang Lang, key string) (string, bool) {
	switch lang {
	case English:
		return key, true
	case German:
		t, ok := german[key]
		return t, ok
	}
	return "", false
}

// Message renders the message of key with args in lang: English when lang
// has no text for key. An argument that is itself a hookd.Msg (a reason
// inside a message) is rendered in lang too.
func Message(lang Lang, key string, args ...any) string {
	t, ok := Template(lang, key)
	if !ok {
		t = key
	}
	var rendered []any // args with their messages rendered; the caller's stay
	for i, a := range args {
		if m, ok := a.(hookd.Msg); ok {
			if rendered == nil {
				rendered = slices.Clone(args)
			}
			rendered[i] = Render(lang, m)
		}
	}
	if rendered != nil {
		args = rendered
	}
	return fmt.Sprintf(t, args...)
}

// Render renders m in lang; "" for the zero Msg.
func Render(lang Lang, m hookd.Msg) string {
	if m.IsZero() {
		return ""
	}
	return Message(lang, m.Key, m.Args...)
}

// FieldMessage returns the message of fe in lang.
func FieldMessage(lang Lang, fe hookd.FieldError) string {
	return Render(lang, fe.Msg())
}

// Fields returns copies of fs whose Message is in lang.
func Fields(lang Lang, fs []hookd.FieldError) []hookd.FieldError {
	out := make([]hookd.FieldError, len(fs))
	for i, fe := range fs {
		fe.Message = FieldMessage(lang, fe)
		out[i] = fe
	}
	return out
}

// ErrorMessage returns the client-safe message of err in lang: that of the
// first *hookd.Error in its chain, or the message of an internal error
// (see hookd.ErrorMessage).
func ErrorMessage(lang Lang, err error) string {
	var e *hookd.Error
	if errors.As(err, &e) {
		return Render(lang, e.Msg())
	}
	return Message(lang, hookd.InternalErrorMessage)
}

// Keys returns every key that has a text in a language other than English,
// sorted.
func Keys() []string {
	keys := make([]string, 0, len(german))
	for k := range german {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
