package schema_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/schema"
)

func mustCompile(t *testing.T, raw string) *schema.Schema {
	t.Helper()
	s, fes := schema.Compile([]byte(raw), "schema")
	if fes != nil {
		t.Fatalf("Compile(%s) = %v", raw, fes)
	}
	return s
}

func format(fes []hookd.FieldError) []string {
	var out []string
	for _, fe := range fes {
		out = append(out, fe.Field+": "+fe.Message)
	}
	return out
}

const unitSchema = `{
	"type": "object",
	"required": ["id", "name"],
	"properties": {
		"id": {"type": "integer", "minimum": 1},
		"name": {"type": "string", "maxLength": 5},
		"tags": {"type": "array", "items": {"type": "string"}},
		"floors": {"type": "array", "items": {"$ref": "#/$defs/floor"}},
		"email": {"type": "string", "format": "email"}
	},
	"additionalProperties": false,
	"$defs": {"floor": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}
}`

func TestValidate(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, unitSchema)
	tests := []struct {
		name    string
		payload string
		want    []string
	}{
		{"conforms", `{"id": 17, "name": "3rd", "tags": ["a"], "floors": [{"n": 1}]}`, nil},
		{"big integers keep their value", `{"id": 12345678901234567890, "name": "x"}`, nil},
		{"a whole number written as 1.0 is an integer", `{"id": 1.0, "name": "x"}`, nil},
		{"wrong type", `{"id": "17", "name": "x"}`, []string{"payload.id: must be integer, not string"}},
		{"every violation at once", `{"name": "too long", "extra": 1, "tags": ["a", 2], "floors": [{"n": 1}, {}]}`, []string{
			"payload.extra: is not allowed",
			"payload.floors[1].n: is required",
			"payload.id: is required",
			"payload.name: maxLength: got 8, want 5",
			"payload.tags[1]: must be string, not number",
		}},
		{"minimum", `{"id": 0, "name": "x"}`, []string{"payload.id: minimum: got 0, want 1"}},
		{"format is asserted", `{"id": 1, "name": "x", "email": "not an address"}`, []string{"payload.email: 'not an address' is not valid email: missing @"}},
		{"not an object", `[1]`, []string{"payload: must be object, not array"}},
		{"null", `null`, []string{"payload: must be object, not null"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := format(s.Validate([]byte(tt.payload), "payload"))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Validate(%s) =\n%s\nwant\n%s", tt.payload, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestValidateNamesTheBatchItem(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, `{"properties": {"id": {"type": "integer"}}}`)
	got := format(s.Validate([]byte(`{"id": true}`), "events[3].payload"))
	if want := []string{"events[3].payload.id: must be integer, not boolean"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestValidateCapsErrors(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, `{"type": "array", "items": {"type": "integer"}}`)
	items := make([]string, 500)
	for i := range items {
		items[i] = `"x"`
	}
	got := s.Validate([]byte("["+strings.Join(items, ",")+"]"), "payload")
	if len(got) != schema.MaxErrors {
		t.Fatalf("%d errors for 500 violations, want %d", len(got), schema.MaxErrors)
	}
}

func TestValidateCombinators(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, `{"properties": {
		"a": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
		"b": {"oneOf": [{"type": "integer"}, {"type": "number"}]},
		"c": {"allOf": [{"type": "integer"}, {"minimum": 5}]},
		"d": false}}`)
	got := format(s.Validate([]byte(`{"a": "x", "b": 1, "c": 2, "d": 1}`), "payload"))
	want := []string{
		"payload.a: must match at least one of the schemas of anyOf",
		"payload.b: must match exactly one of the schemas of oneOf, matches 0 and 1",
		"payload.c: minimum: got 2, want 5",
		"payload.d: is not allowed",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCompileRefusesBadSchemas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw string
		field     string // the field of the first error
		contains  string
	}{
		{"not JSON", `{`, "schema", "must be valid JSON"},
		{"not an object", `true`, "schema", "must be a JSON Schema object"},
		{"an array", `[]`, "schema", "must be a JSON Schema object"},
		{"bad keyword value", `{"type": "integr"}`, "schema.type", ""},
		{"nested bad keyword", `{"properties": {"id": {"minimum": "one"}}}`, "schema.properties.id.minimum", "must be number"},
		{"bad pattern", `{"pattern": "("}`, "schema.pattern", ""},
		{"unknown draft", `{"$schema": "https://example.com/my-draft"}`, "schema", "does not load"},
		{"dangling local ref", `{"$ref": "#/$defs/nope"}`, "schema", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, fes := schema.Compile([]byte(tt.raw), "schema")
			if s != nil || len(fes) == 0 {
				t.Fatalf("Compile(%s) = %v, %v; want field errors", tt.raw, s, fes)
			}
			if fes[0].Field != tt.field || !strings.Contains(fes[0].Message, tt.contains) {
				t.Fatalf("Compile(%s) = %v; want field %s with %q", tt.raw, format(fes), tt.field, tt.contains)
			}
			for _, fe := range fes {
				if strings.Contains(fe.Message, "hookd.invalid") {
					t.Fatalf("message shows the library's name of the schema: %q", fe.Message)
				}
			}
		})
	}
}

// A $ref to anything outside the schema is never loaded: neither over the
// network nor from the disk.
func TestCompileLoadsNothing(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"type": "integer"}`))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(file, []byte(`{"type": "integer"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{srv.URL + "/s.json", "file://" + file, file, "s.json", "http://169.254.169.254/latest"} {
		raw := fmt.Sprintf(`{"properties": {"id": {"$ref": %q}}}`, ref)
		s, fes := schema.Compile([]byte(raw), "schema")
		if s != nil || len(fes) != 1 || fes[0].Field != "schema" || !strings.Contains(fes[0].Message, "does not load") {
			t.Errorf("Compile with $ref %s = %v, %v; want one error on schema saying it does not load", ref, s, format(fes))
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the compiler fetched %d times", n)
	}
}

// The drafts the library knows are honoured by $schema, without a load.
func TestCompileDrafts(t *testing.T) {
	t.Parallel()
	for _, d := range []string{
		"http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-07/schema#",
		"https://json-schema.org/draft/2019-09/schema", "https://json-schema.org/draft/2020-12/schema",
	} {
		s := mustCompile(t, fmt.Sprintf(`{"$schema": %q, "type": "object", "properties": {"id": {"type": "integer"}}}`, d))
		if got := s.Validate([]byte(`{"id": "x"}`), "payload"); len(got) != 1 {
			t.Errorf("draft %s: %v, want one error", d, got)
		}
	}
}

// Found by FuzzCompileValidate: a relative $ref was named by the URL it
// resolves to on the schema's made-up host, which the author never wrote.
func TestRelativeRefNamedAsWritten(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string]string{"other.json": `"/other.json"`, "/etc/passwd": `"/etc/passwd"`, "a/b.json#/x": `"/a/b.json"`} {
		_, fes := schema.Compile([]byte(fmt.Sprintf(`{"$ref": %q}`, ref)), "schema")
		if len(fes) != 1 || !strings.Contains(fes[0].Message, "refers to "+want) || strings.Contains(fes[0].Message, "hookd.invalid") {
			t.Errorf("$ref %s: %v, want it named %s", ref, format(fes), want)
		}
	}
}

// Found by FuzzCompileValidate: violations at one place (propertyNames
// reports every name at the object's) came in map order, so the same
// payload got its errors in another order from one run to the next.
func TestValidateOrderIsStable(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, `{"propertyNames": {"maxLength": 3}}`)
	payload := []byte(`{"alpha": 1, "bravo": 2, "charlie": 3, "delta": 4, "echo": 5, "foxtrot": 6}`)
	first := format(s.Validate(payload, "payload"))
	if len(first) != 6 {
		t.Fatalf("got %q, want a violation per name", first)
	}
	for range 20 {
		if got := format(s.Validate(payload, "payload")); !slices.Equal(got, first) {
			t.Fatalf("got\n%q\nthen\n%q", first, got)
		}
	}
}
