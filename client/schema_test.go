package client_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/httpapi"
)

// TestTypesMatchOpenAPI: every property of the OpenAPI document's schemas
// has a field in the client type that carries it, and every field of those
// types is a property, so that a field added to the API (or a typo here)
// fails this test rather than going unnoticed.
func TestTypesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(httpapi.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	types := map[string]any{
		"Problem": client.Error{}, "FieldError": client.FieldError{},
		"Tenant": client.Tenant{}, "TenantCreate": client.TenantInput{},
		"APIKey": client.APIKey{}, "APIKeyCreated": client.APIKey{}, "APIKeyCreate": client.KeyInput{},
		"Auth": client.Auth{}, "AuthRead": client.Auth{}, "FailureHandling": client.FailureHandling{},
		"WebhookFields": client.WebhookInput{}, "WebhookCreate": client.WebhookInput{},
		"WebhookPatch": client.WebhookPatch{}, "Webhook": client.Webhook{},
		"Recover": client.RecoverInput{}, "TestEvent": client.TestInput{},
		"EventInput": client.EventInput{}, "PublishResult": client.PublishResult{}, "Event": client.Event{},
		"Message": client.Message{}, "Attempt": client.Attempt{},
		"PortalLinkCreate": client.PortalLinkInput{}, "PortalLink": client.PortalLink{},
		"EventType": client.EventType{}, "EventTypeCreate": client.EventTypeInput{}, "EventTypeUpdate": client.EventTypeInput{},
		"Envelope": client.Envelope{}, "Caller": client.Caller{},
	}
	// Schemas the client has no struct of its own for: enums, lists
	// (Page[T]), and small bodies and answers written inline.
	inline := []string{"Scope", "MessageState", "Secrets", "RotateSecret", "Count", "EventBatch",
		"PublishBatchResult", "Status"}
	// A type may serve several schemas (APIKey is also the answer with its
	// token): its fields must be in one of them.
	union := map[reflect.Type][]string{}
	for name, s := range schemas {
		typ, ok := types[name]
		if !ok {
			if !slices.Contains(inline, name) && !strings.HasSuffix(name, "List") {
				t.Errorf("schema %s: no client type; map it here, or list it as written inline", name)
			}
			continue
		}
		props := s.properties(schemas)
		fields := jsonFields(reflect.TypeOf(typ))
		for _, p := range props {
			if !slices.Contains(fields, p) {
				t.Errorf("schema %s has %q, which %T lacks", name, p, typ)
			}
		}
		union[reflect.TypeOf(typ)] = append(union[reflect.TypeOf(typ)], props...)
	}
	for typ, props := range union {
		for _, f := range jsonFields(typ) {
			if !slices.Contains(props, f) {
				t.Errorf("%v has %q, which no schema it serves has", typ, f)
			}
		}
	}
	// EventTypePatch is the PATCH body: EventTypeUpdate without the name,
	// which may not change.
	for _, p := range schemas["EventTypeUpdate"].properties(schemas) {
		if p != "name" && !slices.Contains(jsonFields(reflect.TypeOf(client.EventTypePatch{})), p) {
			t.Errorf("EventTypePatch lacks %q", p)
		}
	}
}

// schema is the part of a JSON Schema that names properties.
type schema struct {
	Ref        string                     `json:"$ref"`
	AllOf      []schema                   `json:"allOf"`
	Properties map[string]json.RawMessage `json:"properties"`
}

// properties returns the property names of s and of the schemas its allOf
// refers to, sorted.
func (s schema) properties(all map[string]schema) []string {
	var out []string
	for p := range s.Properties {
		out = append(out, p)
	}
	if s.Ref != "" {
		out = append(out, all[strings.TrimPrefix(s.Ref, "#/components/schemas/")].properties(all)...)
	}
	for _, sub := range s.AllOf {
		out = append(out, sub.properties(all)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// jsonFields returns the JSON names of a struct's encoded fields.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}
