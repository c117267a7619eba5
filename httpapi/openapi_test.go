package httpapi_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/hookd/hookd/httpapi"
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
