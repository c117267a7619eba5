// Package schema compiles the JSON Schemas of a tenant's event types and
// checks payloads against them, naming each violation by its place in the
// payload (`payload.items[2].id: must be integer, not string`), in the
// field errors of hookd's problem documents.
//
// It wraps github.com/santhosh-tekuri/jsonschema/v6 (drafts 4 to 2020-12,
// passes the official test suite, no dependency beyond golang.org/x/text),
// with these choices:
//   - a schema without $schema is read as draft 2020-12;
//   - nothing is ever loaded from elsewhere: a $ref to a URL outside the
//     schema itself (http, https, file, …) fails compilation; the library's
//     own default would read local files;
//   - format is asserted (an "email" that is no e-mail address fails): the
//     schema is a gate, and a gate that lets a wrong date-time through
//     surprises its author; formats the library does not know pass;
//   - regular expressions are Go's (RE2): linear time, no backtracking.
package schema

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hookd/hookd"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// MaxErrors is the most violations reported for one document: enough to
// fix a payload, few enough to keep the answer small.
const MaxErrors = 100

// resourceURL is where a compiled schema lives for the library. A
// hierarchical URL, so that a relative $ref ("other.json", "/etc/x")
// resolves to another URL on it, which noLoader refuses; the reserved
// .invalid name could not be reached if anything tried.
const resourceURL = resourceHost + "/event-type-schema.json"

// resourceHost is the scheme and host of resourceURL.
const resourceHost = "https://hookd.invalid"

var printer = message.NewPrinter(language.English)

// Schema is a compiled JSON Schema, safe for concurrent use.
type Schema struct {
	s *jsonschema.Schema
}

// noLoader refuses every URL the compiler asks for: hookd loads nothing
// from the network or the disk on a tenant's behalf.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("hookd loads no schema from elsewhere")
}

// Compile compiles raw, a JSON Schema object. When raw is not valid JSON,
// not an object, or not a valid schema, it returns the problems as field
// errors under field (`schema`, `schema.properties.id.type`).
func Compile(raw []byte, field string) (*Schema, []hookd.FieldError) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, []hookd.FieldError{{Field: field, Message: "must be valid JSON"}}
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, []hookd.FieldError{{Field: field, Message: "must be a JSON Schema object"}}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	c.AssertFormat()
	if err := c.AddResource(resourceURL, doc); err != nil {
		return nil, []hookd.FieldError{{Field: field, Message: clean(err.Error())}}
	}
	s, err := c.Compile(resourceURL)
	if err != nil {
		return nil, compileErrors(err, doc, field)
	}
	return &Schema{s: s}, nil
}

// compileErrors turns a compilation error into field errors: a schema that
// breaks its metaschema is named at each place, anything else on field.
func compileErrors(err error, doc any, field string) []hookd.FieldError {
	var sve *jsonschema.SchemaValidationError
	var ve *jsonschema.ValidationError
	if errors.As(err, &sve) && errors.As(sve.Err, &ve) {
		if fes := violations(ve, doc, field); len(fes) > 0 {
			return fes
		}
	}
	var le *jsonschema.LoadURLError
	if errors.As(err, &le) {
		// A relative $ref resolves against resourceURL, a name the author
		// never wrote: show it as the path it is on the schema's host.
		ref := le.URL
		if rest, ok := strings.CutPrefix(ref, resourceHost); ok && strings.HasPrefix(rest, "/") {
			ref = rest
		}
		return []hookd.FieldError{{Field: field, Message: fmt.Sprintf(
			"refers to %q, which hookd does not load: keep every definition inside the schema ($defs)", ref)}}
	}
	return []hookd.FieldError{{Field: field, Message: "is not a valid JSON Schema: " + clean(err.Error())}}
}

// clean takes the library's name for the schema out of a message.
func clean(msg string) string {
	msg = strings.ReplaceAll(msg, strconv.Quote(resourceURL), "the schema")
	msg = strings.ReplaceAll(msg, "'"+resourceURL, "'")
	return strings.ReplaceAll(msg, resourceURL, "")
}

// Validate checks payload (JSON text) against the schema and returns every
// violation (at most MaxErrors) as a field error named under prefix
// (`payload`, `events[3].payload`), or nil when it conforms.
func (s *Schema) Validate(payload []byte, prefix string) []hookd.FieldError {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return []hookd.FieldError{{Field: prefix, Message: "must be valid JSON"}}
	}
	err = s.s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []hookd.FieldError{{Field: prefix, Message: "does not match the event type's schema: " + clean(err.Error())}}
	}
	fes := violations(ve, v, prefix)
	if len(fes) == 0 {
		fes = []hookd.FieldError{{Field: prefix, Message: "does not match the event type's schema"}}
	}
	return fes
}

// violations flattens a validation error into one field error per failed
// keyword, without repeats, in field order.
func violations(ve *jsonschema.ValidationError, doc any, prefix string) []hookd.FieldError {
	var out []hookd.FieldError
	type seenKey struct{ field, msg string }
	seen := map[seenKey]bool{}
	add := func(field, msg string) {
		if k := (seenKey{field, msg}); !seen[k] {
			seen[k] = true
			out = append(out, hookd.FieldError{Field: field, Message: msg})
		}
	}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		at := path(doc, e.InstanceLocation, prefix)
		switch k := e.ErrorKind.(type) {
		case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
			// containers: the violations are their causes
			if len(e.Causes) == 0 {
				add(at, clean(k.LocalizedString(printer)))
			}
			for _, c := range e.Causes {
				walk(c)
			}
		case *kind.AnyOf:
			add(at, "must match at least one of the schemas of anyOf")
		case *kind.OneOf:
			if len(k.Subschemas) == 0 {
				add(at, "must match exactly one of the schemas of oneOf, matches none")
			} else {
				add(at, fmt.Sprintf("must match exactly one of the schemas of oneOf, matches %d and %d", k.Subschemas[0], k.Subschemas[1]))
			}
		case *kind.Required:
			for _, p := range k.Missing {
				add(join(at, p), "is required")
			}
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				add(join(at, p), "is not allowed")
			}
		case *kind.FalseSchema:
			add(at, "is not allowed")
		case *kind.Type:
			add(at, fmt.Sprintf("must be %s, not %s", strings.Join(k.Want, " or "), k.Got))
		default:
			add(at, clean(k.LocalizedString(printer)))
		}
	}
	walk(ve)
	// The validator visits an object's members in map order: sort, by
	// field and then by message (one place can break several keywords,
	// and propertyNames reports every name at the object's own place),
	// so that the same payload always gets the same answer.
	slices.SortFunc(out, func(a, b hookd.FieldError) int {
		return cmp.Or(strings.Compare(a.Field, b.Field), strings.Compare(a.Message, b.Message))
	})
	if len(out) > MaxErrors {
		out = out[:MaxErrors]
	}
	return out
}

// path names the place of tokens in doc under prefix: object members as
// `.name`, array items as `[i]`, the way hookd names fields elsewhere.
func path(doc any, tokens []string, prefix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	cur := doc
	for _, tok := range tokens {
		switch v := cur.(type) {
		case []any:
			b.WriteString("[" + tok + "]")
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(v) {
				cur = v[i]
			} else {
				cur = nil
			}
		case map[string]any:
			b.WriteString(join("", tok))
			cur = v[tok]
		default:
			b.WriteString(join("", tok))
			cur = nil
		}
	}
	return b.String()
}

// join names member name of the value at field.
func join(field, name string) string {
	if field == "" && name == "" {
		return ""
	}
	return field + "." + name
}
