package openapitest_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/openapitest"
)

const doc = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "paths": {
    "/things/{id}": {
      "get": {"responses": {
        "200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
        "404": {"$ref": "#/components/responses/NotFound"}
      }},
      "delete": {"responses": {"204": {"description": ""}, "4XX": {"$ref": "#/components/responses/NotFound"}}}
    },
    "/things": {
      "post": {"responses": {
        "201": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingCreated"}}}},
        "default": {"$ref": "#/components/responses/NotFound"}
      }},
      "get": {"responses": {
        "200": {"description": "", "content": {"application/json": {"schema": {
          "type": "object", "required": ["data"],
          "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}}}}
      }}
    },
    "/metrics": {"get": {"responses": {"200": {"description": "", "content": {"text/plain": {}}}}}}
  },
  "components": {
    "schemas": {
      "Thing": {"type": "object", "required": ["id", "at"], "properties": {
        "id": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "payload": {}, "owner": {"oneOf": [{"$ref": "#/components/schemas/Owner"}, {"type": "null"}]}}},
      "Owner": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
      "ThingCreated": {"allOf": [{"$ref": "#/components/schemas/Thing"},
        {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string"}}}]},
      "Problem": {"type": "object", "required": ["status"], "properties": {"status": {"type": "integer"}}}
    },
    "responses": {
      "NotFound": {"description": "", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    }
  }
}`

func TestCheck(t *testing.T) {
	t.Parallel()
	d, err := openapitest.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Operations(), []string{"DELETE /things/{id}", "GET /metrics", "GET /things", "GET /things/{id}", "POST /things"}; !slices.Equal(got, want) {
		t.Fatalf("Operations = %q, want %q", got, want)
	}
	const thing = `{"id": "a", "at": "2026-12-03T17:00:00Z"`
	for _, tt := range []struct {
		name, method, path string
		status             int
		ct, body           string
		op, err            string // err: a part of the error, "" for none
	}{
		{"valid", "GET", "/things/a", 200, "application/json", thing + `}`, "GET /things/{id}", ""},
		{"every optional field", "GET", "/things/a", 200, "application/json; charset=utf-8",
			thing + `, "labels": {"k": "v"}, "payload": {"anything": [1, {"x": null}]}, "owner": {"name": "o"}}`, "GET /things/{id}", ""},
		{"null owner", "GET", "/things/a", 200, "application/json", thing + `, "owner": null}`, "GET /things/{id}", ""},
		{"an undeclared property", "GET", "/things/a", 200, "application/json", thing + `, "extra": 1}`, "GET /things/{id}", "extra"},
		{"an undeclared property of a nested object", "GET", "/things/a", 200, "application/json", thing + `, "owner": {"name": "o", "age": 3}}`, "GET /things/{id}", "age"},
		{"an undeclared property in a list's item", "GET", "/things", 200, "application/json", `{"data": [` + thing + `, "x": 1}]}`, "GET /things", "x"},
		{"a required property missing", "GET", "/things/a", 200, "application/json", `{"id": "a"}`, "GET /things/{id}", "at"},
		{"a wrong format", "GET", "/things/a", 200, "application/json", `{"id": "a", "at": "yesterday"}`, "GET /things/{id}", "date-time"},
		{"a wrong type", "GET", "/things/a", 200, "application/json", `{"id": 1, "at": "2026-12-03T17:00:00Z"}`, "GET /things/{id}", "string"},
		{"allOf extends a definition", "POST", "/things", 201, "application/json", thing + `, "secret": "s"}`, "POST /things", ""},
		{"allOf still closed", "POST", "/things", 201, "application/json", thing + `, "secret": "s", "more": 1}`, "POST /things", "more"},
		{"an undocumented status", "GET", "/things/a", 409, "application/problem+json", `{"status": 409}`, "GET /things/{id}", "status 409 is not documented"},
		{"a status range", "DELETE", "/things/a", 410, "application/problem+json", `{"status": 410}`, "DELETE /things/{id}", ""},
		{"default", "POST", "/things", 500, "application/problem+json", `{"status": 500}`, "POST /things", ""},
		{"an undocumented media type", "GET", "/things/a", 404, "application/json", `{"status": 404}`, "GET /things/{id}", "Content-Type application/json is not documented"},
		{"a problem that is not one", "GET", "/things/a", 404, "application/problem+json", `{"title": "x"}`, "GET /things/{id}", "status"},
		{"no body declared", "DELETE", "/things/a", 204, "", "", "DELETE /things/{id}", ""},
		{"a body where none is declared", "DELETE", "/things/a", 204, "application/json", `{}`, "DELETE /things/{id}", "has a body"},
		{"not JSON", "GET", "/things/a", 200, "application/json", `{"id":`, "GET /things/{id}", "not JSON"},
		{"text is not validated", "GET", "/metrics", 200, "text/plain; version=0.0.4", "# HELP x\n", "GET /metrics", ""},
		{"no such operation", "PUT", "/things/a", 405, "application/problem+json", `{}`, "", openapitest.ErrNoOperation.Error()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, "http://x"+tt.path, nil)
			res := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			if tt.ct != "" {
				res.Header.Set("Content-Type", tt.ct)
			}
			op, err := d.Check(req, res, []byte(tt.body))
			if op != tt.op {
				t.Errorf("op = %q, want %q", op, tt.op)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("err = %v, want one saying %q", err, tt.err)
			}
		})
	}
	if _, err := d.Check(httptest.NewRequest("GET", "http://x/nothing", nil), &http.Response{StatusCode: 404}, nil); !errors.Is(err, openapitest.ErrNoOperation) {
		t.Errorf("an unknown path: err = %v, want ErrNoOperation", err)
	}
	if got, want := d.Statuses("DELETE /things/{id}"), []string{"204", "4XX"}; !slices.Equal(got, want) {
		t.Errorf("Statuses = %q, want %q", got, want)
	}
}

func TestLoadRefusesBrokenDocuments(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"not JSON":       `{`,
		"OpenAPI 3.0":    `{"openapi": "3.0.3", "paths": {}}`,
		"a dangling ref": `{"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}}}}}}}}`,
		"a response ref": `{"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": {"200": {"$ref": "#/components/responses/Nope"}}}}}}`,
		"a remote ref":   `{"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "https://example.com/s.json"}}}}}}}}}`,
		"a bad path":     `{"openapi": "3.1.0", "paths": {"/a/{x}.json": {"get": {"responses": {}}}}}`,
	} {
		if _, err := openapitest.Load([]byte(doc)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
