package schema_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/schema"
)

// under reports whether field is prefix or a place inside it.
func under(field, prefix string) bool {
	return field == prefix || strings.HasPrefix(field, prefix+".") || strings.HasPrefix(field, prefix+"[")
}

// FuzzCompileValidate compiles fuzzed schemas (at most the API's size)
// and validates fuzzed payloads against them: no panic; a schema either
// compiles or comes back with field errors under "schema", each with a
// message that does not show the library's name of the schema; JSON that
// is not valid never compiles; a payload's violations are named under
// "payload", at most MaxErrors, and the same on every run.
func FuzzCompileValidate(f *testing.F) {
	for _, s := range []string{unitSchema, `{`, `true`, `[]`, `{"type": "integr"}`, `{"properties": {"id": {"minimum": "one"}}}`,
		`{"pattern": "("}`, `{"$schema": "https://example.com/my-draft"}`, `{"$ref": "#/$defs/nope"}`,
		`{"properties": {"id": {"$ref": "https://example.com/s.json"}}}`, `{"$ref": "other.json"}`, `{"$ref": "file:///etc/passwd"}`,
		`{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "properties": {"id": {"type": "integer"}}}`,
		`{"properties": {"a": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "b": {"oneOf": [{"type": "integer"}, {"type": "number"}]},
		"c": {"allOf": [{"type": "integer"}, {"minimum": 5}]}, "d": false}}`,
		`{"type": "array", "items": {"type": "integer"}, "uniqueItems": true, "contains": {"const": 1}}`,
		`{"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}`, `{"multipleOf": 0.01, "format": "date-time"}`,
		`{"patternProperties": {"^x-": {"type": "string"}}, "propertyNames": {"maxLength": 3}, "dependentRequired": {"a": ["b"]}}`,
	} {
		for _, p := range []string{`{"id": 17, "name": "3rd", "tags": ["a"], "floors": [{"n": 1}]}`,
			`{"name": "too long", "extra": 1, "tags": ["a", 2], "floors": [{"n": 1}, {}]}`, `[1, 1, "x"]`, `null`, `{`, `1e400`, `"2026-13-01"`} {
			f.Add([]byte(s), []byte(p))
		}
	}
	f.Fuzz(func(t *testing.T, raw, payload []byte) {
		if len(raw) > hookd.MaxSchemaBytes || len(payload) > 64<<10 {
			t.Skip("larger than the API takes")
		}
		s, fes := schema.Compile(raw, "schema")
		if (s == nil) == (len(fes) == 0) {
			t.Fatalf("Compile(%q) = %v, %v: want a schema or its errors", raw, s, fes)
		}
		if s != nil && !json.Valid(raw) {
			t.Fatalf("Compile took %q, which is not JSON", raw)
		}
		check := func(what string, fes []hookd.FieldError, prefix string) {
			for _, fe := range fes {
				if !under(fe.Field, prefix) || fe.Message == "" || strings.Contains(fe.Message, "hookd.invalid") {
					t.Fatalf("%s: field error %q: %q", what, fe.Field, fe.Message)
				}
			}
		}
		check("Compile", fes, "schema")
		if s == nil {
			return
		}
		got := s.Validate(payload, "payload")
		if len(got) > schema.MaxErrors {
			t.Fatalf("%d violations, more than %d", len(got), schema.MaxErrors)
		}
		check("Validate", got, "payload")
		if again := s.Validate(payload, "payload"); !reflect.DeepEqual(got, again) {
			t.Fatalf("Validate(%q) against %q differs between runs:\n%v\n%v", payload, raw, got, again)
		}
	})
}
