// Package openapitest checks a server's answers against its OpenAPI 3.1
// document, for the tests of hookd's APIs (the native /v1 and the
// dialects): which operation a request is, whether the status of its
// answer is documented for that operation, and whether the answer's body
// has a documented media type and, when it is JSON, follows the
// response's schema.
//
// Schemas are checked by github.com/santhosh-tekuri/jsonschema/v6 as
// JSON Schema 2020-12 (what OpenAPI 3.1 schemas are), with the whole
// document loaded as one resource so that "#/components/schemas/…"
// references resolve, nothing loaded from elsewhere, and formats
// (date-time, uri) asserted. The check is stricter than the document:
// an answer may hold no property that its schema does not declare (the
// document itself stays open, so that a client that validates keeps
// working against a newer server), so that a field the server writes and
// the document forgets fails a test.
package openapitest

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// resourceURL is where the document lives for the schema compiler; the
// reserved .invalid name could not be reached if anything tried.
const resourceURL = "https://openapi.invalid/openapi.json"

// Methods are the operations' methods an OpenAPI path item may hold.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Doc is an OpenAPI document prepared for checking answers. It is safe for
// concurrent use once loaded.
type Doc struct {
	raw     map[string]any            // the document as written
	ops     map[string]map[string]any // "GET /path/{p}" → its operation object
	mux     *http.ServeMux            // routes a request to its operation's pattern
	schemas map[string]*jsonschema.Schema
}

// Load reads and prepares an OpenAPI 3.1 document: every response
// schema of every operation is compiled, so that a schema that does not
// compile or a reference that does not resolve fails here.
func Load(doc []byte) (*Doc, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("openapi: not JSON: %w", err)
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("openapi: not a JSON object")
	}
	if s, _ := raw["openapi"].(string); !strings.HasPrefix(s, "3.1.") {
		return nil, fmt.Errorf("openapi: version %q, want 3.1.x", raw["openapi"])
	}
	d := &Doc{raw: raw, ops: map[string]map[string]any{}, mux: http.NewServeMux(), schemas: map[string]*jsonschema.Schema{}}
	paths, _ := raw["paths"].(map[string]any)
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			pattern := strings.ToUpper(m) + " " + path
			d.ops[pattern] = op
			if err := register(d.mux, pattern); err != nil {
				return nil, err
			}
		}
	}

	// The copy the schemas are compiled from: the same, made strict.
	strict, _ := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	tighten(strict.(map[string]any))
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	c.AssertFormat()
	if err := c.AddResource(resourceURL, strict); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	for _, pattern := range d.Operations() {
		for status := range d.ops[pattern]["responses"].(map[string]any) {
			resp, ptr, err := d.response(pattern, status)
			if err != nil {
				return nil, err
			}
			content, _ := resp["content"].(map[string]any)
			for mt, media := range content {
				if _, ok := media.(map[string]any)["schema"]; !ok || !isJSON(mt) {
					continue
				}
				loc := ptr + "/content/" + escape(mt) + "/schema"
				if _, done := d.schemas[loc]; done {
					continue
				}
				s, err := c.Compile(resourceURL + "#" + loc)
				if err != nil {
					return nil, fmt.Errorf("openapi: %s %s: %w", pattern, status, err)
				}
				d.schemas[loc] = s
			}
		}
	}
	return d, nil
}

// register adds pattern to mux, turning the mux's panic at a pattern it
// cannot take into an error.
func register(mux *http.ServeMux, pattern string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("openapi: path %q is no ServeMux pattern: %v", pattern, v)
		}
	}()
	mux.Handle(pattern, http.NotFoundHandler())
	return nil
}

// noLoader refuses every URL: the document is the only resource.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("openapitest loads nothing: %s", url)
}

// Operations returns the document's operations, "METHOD /path/{param}",
// sorted.
func (d *Doc) Operations() []string {
	out := make([]string, 0, len(d.ops))
	for op := range d.ops {
		out = append(out, op)
	}
	slices.Sort(out)
	return out
}

// Statuses returns the statuses documented for op ("200", "404", …,
// "default"), sorted.
func (d *Doc) Statuses(op string) []string {
	var out []string
	for s := range d.responses(op) {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Match returns the operation that r is, or "" when the document has
// none.
func (d *Doc) Match(r *http.Request) string {
	_, pattern := d.mux.Handler(r)
	if _, ok := d.ops[pattern]; !ok {
		return ""
	}
	return pattern
}

// ErrNoOperation is Check's error for a request that is no operation of
// the document.
var ErrNoOperation = errors.New("no operation of the OpenAPI document")

// Check checks res, the answer to r, whose body is body: the status must be documented for the operation (or be covered
// by a "4XX" range or "default"), its Content-Type one of the response's
// media types (no body where it declares none), and a JSON body must
// follow the media type's schema. It returns the operation, and
// ErrNoOperation (wrapped) when the request is none of the document's.
func (d *Doc) Check(r *http.Request, res *http.Response, body []byte) (string, error) {
	op := d.Match(r)
	if op == "" {
		return "", fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, ErrNoOperation)
	}
	status, header := res.StatusCode, res.Header
	key := strconv.Itoa(status)
	responses := d.responses(op)
	if _, ok := responses[key]; !ok {
		key = key[:1] + "XX"
		if _, ok := responses[key]; !ok {
			key = "default"
		}
	}
	if _, ok := responses[key]; !ok {
		return op, fmt.Errorf("%s: status %d is not documented (the document has %s)", op, status, strings.Join(d.Statuses(op), ", "))
	}
	resp, ptr, err := d.response(op, key)
	if err != nil {
		return op, err
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(bytes.TrimSpace(body)) > 0 {
			return op, fmt.Errorf("%s: %d has a body, where the document declares none: %.200s", op, status, body)
		}
		return op, nil
	}
	ct := header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return op, fmt.Errorf("%s: %d: Content-Type %q: %v", op, status, ct, err)
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		var types []string
		for k := range content {
			types = append(types, k)
		}
		slices.Sort(types)
		return op, fmt.Errorf("%s: %d: Content-Type %s is not documented (the document has %s)", op, status, mt, strings.Join(types, ", "))
	}
	if _, ok := media["schema"]; !ok || !isJSON(mt) {
		return op, nil
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return op, fmt.Errorf("%s: %d: the %s body is not JSON: %v: %.200s", op, status, mt, err, body)
	}
	s := d.schemas[ptr+"/content/"+escape(mt)+"/schema"]
	if err := s.Validate(v); err != nil {
		return op, fmt.Errorf("%s: %d: the body does not follow the document's schema: %v\nbody: %.2000s", op, status, clean(err), body)
	}
	return op, nil
}

// responses returns the responses object of op.
func (d *Doc) responses(op string) map[string]any {
	r, _ := d.ops[op]["responses"].(map[string]any)
	return r
}

// response returns op's response for status, its $ref followed, and the
// JSON pointer where it is.
func (d *Doc) response(op, status string) (map[string]any, string, error) {
	method, path, _ := strings.Cut(op, " ")
	ptr := "/paths/" + escape(path) + "/" + strings.ToLower(method) + "/responses/" + escape(status)
	v := d.responses(op)[status]
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("openapi: %s %s: the response is not an object", op, status)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, ptr, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, "", fmt.Errorf("openapi: %s %s: $ref %q is not in the document", op, status, ref)
		}
		ptr = strings.TrimPrefix(ref, "#")
		v = d.at(ptr)
		if v == nil {
			return nil, "", fmt.Errorf("openapi: %s %s: $ref %q resolves to nothing", op, status, ref)
		}
	}
	return nil, "", fmt.Errorf("openapi: %s %s: $ref loop", op, status)
}

// at returns the value at a JSON pointer of the document, nil when none.
func (d *Doc) at(ptr string) any {
	var v any = d.raw
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		v = m[tok]
	}
	return v
}

// escape writes s as a JSON pointer token.
func escape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// isJSON reports whether mt is a JSON media type.
func isJSON(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// clean takes the compiler's name of the document out of an error.
func clean(err error) string {
	return strings.ReplaceAll(err.Error(), resourceURL, "")
}

// tighten makes the schemas of an OpenAPI document closed: every schema
// that describes an object by its properties (or by a reference or an
// allOf) gets "unevaluatedProperties": false unless it says itself what
// other properties may be. The definitions under components/schemas are
// closed where they are used rather than where they are written, and the
// members of an allOf not at all, so that an allOf may extend a
// definition (APIKeyCreated is APIKey and its token).
func tighten(doc map[string]any) {
	var schema func(s any, use bool)
	schema = func(s any, use bool) {
		m, ok := s.(map[string]any)
		if !ok {
			return
		}
		_, props := m["properties"]
		_, ref := m["$ref"]
		_, all := m["allOf"]
		_, addl := m["additionalProperties"]
		_, uneval := m["unevaluatedProperties"]
		if use && (props || ref || all) && !addl && !uneval {
			m["unevaluatedProperties"] = false
		}
		for _, k := range []string{"properties", "patternProperties", "$defs", "dependentSchemas"} {
			if sub, ok := m[k].(map[string]any); ok {
				for _, v := range sub {
					schema(v, true)
				}
			}
		}
		for _, k := range []string{"additionalProperties", "items", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedItems"} {
			schema(m[k], true)
		}
		for _, k := range []string{"prefixItems", "anyOf", "oneOf"} {
			if list, ok := m[k].([]any); ok {
				for _, v := range list {
					schema(v, true)
				}
			}
		}
		if list, ok := m["allOf"].([]any); ok {
			for _, v := range list {
				schema(v, false)
			}
		}
	}
	// Anything under a "schema" key outside the definitions is a use:
	// parameters, headers, media types.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, v := range x {
				if k == "schema" {
					schema(v, true)
					continue
				}
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(doc["paths"])
	if comp, ok := doc["components"].(map[string]any); ok {
		for k, v := range comp {
			if k == "schemas" {
				if defs, ok := v.(map[string]any); ok {
					for _, def := range defs {
						schema(def, false)
					}
				}
				continue
			}
			walk(v)
		}
	}
}
