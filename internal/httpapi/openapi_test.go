package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/hookd/hookd/internal/httpapi"
)

// The OpenAPI document holds no object with a key twice: encoding/json
// would keep the last silently (a merge of two edits to one object once
// lost a response's Retry-After that way).
func TestOpenAPINoDuplicateKeys(t *testing.T) {
	t.Parallel()
	dec := json.NewDecoder(bytes.NewReader(httpapi.OpenAPIDocument()))
	type level struct {
		object bool
		keys   map[string]bool
		key    bool // the next string token is a key
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &level{object: true, keys: map[string]bool{}, key: true})
			case '[':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &level{})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.object && top.key {
				if top.keys[v] {
					t.Errorf("key %q twice in one object (depth %d, near byte %d)", v, len(stack), dec.InputOffset())
				}
				top.keys[v] = true
				top.key = false
				continue
			}
			if top != nil && top.object {
				top.key = true
			}
		default:
			if top != nil && top.object {
				top.key = true
			}
		}
	}
	if len(stack) != 0 {
		t.Fatal("the document did not end where it should")
	}
}

// The OpenAPI document describes exactly the operations the server
// routes: the list is the server's own (Server.Routes, what build
// registers on its ServeMux), so that a route added without its path in
// openapi.json fails here, and so does a path the server does not serve.
// Mounts (the dialects, each with a document of its own) and the UI are
// not the API's.
func TestOpenAPIDescribesTheRoutes(t *testing.T) {
	t.Parallel()
	doc, err := apiDoc()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	api := newAPI(t, MustOpenDB(t), &fakeDeliverer{})
	api.Mounts = map[string]http.Handler{"GET /elsewhere": http.NotFoundHandler()}
	api.UI = http.NotFoundHandler()
	routes := api.Routes()
	if len(routes) < 10 {
		t.Fatalf("Routes = %q: the server routes next to nothing", routes)
	}
	for _, r := range routes {
		if !slices.Contains(doc.Operations(), r) {
			t.Errorf("the server routes %s, which openapi.json does not describe: add it to the document", r)
		}
	}
	for _, op := range doc.Operations() {
		if !slices.Contains(routes, op) {
			t.Errorf("openapi.json describes %s, which the server does not route: take it out of the document", op)
		}
	}
}
