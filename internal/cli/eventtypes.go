package cli

import (
	"encoding/json"

	"github.com/hookd/hookd/client"
)

func init() {
	nouns["event-types"] = &noun{
		summary: "A tenant's event type catalogue: once it declares any, it may publish only those,\n" +
			"with payloads that follow their JSON Schemas.",
		verbs: []verb{
			{"list", "", "list the declared types", eventTypesList},
			{"get", "<name>", "show a type", eventTypesGet},
			{"create", "", "declare a type", eventTypesCreate},
			{"put", "<name>", "declare or replace a type (idempotent, for deploys)", eventTypesPut},
			{"patch", "<name>", "change the fields given", eventTypesPatch},
			{"delete", "<name>", "archive a type (--expunge: delete it for good)", eventTypesDelete},
		},
	}
}

var eventTypeColumns = []column[client.EventType]{
	{"NAME", func(e *client.EventType) string { return e.Name }},
	{"ARCHIVED", func(e *client.EventType) string { return map[bool]string{true: "yes", false: "no"}[e.Archived] }},
	{"SCHEMA", func(e *client.EventType) string {
		return map[bool]string{true: "yes", false: "no"}[len(e.Schema) > 0 && string(e.Schema) != "null"]
	}},
	{"DESCRIPTION", func(e *client.EventType) string { return e.Description }},
}

func eventTypesList(x *inv) error {
	l := x.listFlags()
	var o client.EventTypeListOptions
	x.flags().BoolVar(&o.IncludeArchived, "include-archived", false, "list archived types too")
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	o.ListOptions = l.options()
	return list(x, l, eventTypeColumns,
		func() (*client.Page[client.EventType], error) { return x.c.EventTypes.List(x.ctx, x.tenant, &o) },
		func() iterSeq[client.EventType] { return x.c.EventTypes.All(x.ctx, x.tenant, &o) })
}

func eventTypesGet(x *inv) error {
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	et, err := x.c.EventTypes.Get(x.ctx, x.tenant, x.pos[0])
	if err != nil {
		return err
	}
	return x.show(et)
}

// eventTypeFlags are the fields of a type as flags.
type eventTypeFlags struct {
	description, schema, data string
	archived                  bool
}

func (x *inv) eventTypeFlags() *eventTypeFlags {
	f := &eventTypeFlags{}
	fs := x.flags()
	fs.StringVar(&f.description, "description", "", "what the type means")
	fs.StringVar(&f.schema, "schema", "", "the payload's JSON Schema: JSON, @file or @-")
	fs.BoolVar(&f.archived, "archived", false, "archived: no longer published or newly subscribed to")
	fs.StringVar(&f.data, "data", "", "the whole body as JSON, @file or @- (flags given beside it win)")
	return f
}

// input returns the body of a create or PUT.
func (f *eventTypeFlags) input(x *inv) (*client.EventTypeInput, error) {
	var in client.EventTypeInput
	if err := x.decodeData(f.data, &in); err != nil {
		return nil, err
	}
	if x.set["description"] {
		in.Description = f.description
	}
	if x.set["archived"] {
		in.Archived = f.archived
	}
	if x.set["schema"] {
		raw, err := x.rawJSON("schema", f.schema)
		if err != nil {
			return nil, err
		}
		in.Schema = raw
	}
	return &in, nil
}

func eventTypesCreate(x *inv) error {
	f := x.eventTypeFlags()
	name := x.flags().String("name", "", "the type's name, e.g. Unit.Updated")
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	in, err := f.input(x)
	if err != nil {
		return err
	}
	if x.set["name"] {
		in.Name = *name
	}
	et, err := x.c.EventTypes.Create(x.ctx, x.tenant, in)
	if err != nil {
		return err
	}
	return x.show(et)
}

func eventTypesPut(x *inv) error {
	f := x.eventTypeFlags()
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	in, err := f.input(x)
	if err != nil {
		return err
	}
	et, created, err := x.c.EventTypes.Put(x.ctx, x.tenant, x.pos[0], in)
	if err != nil {
		return err
	}
	if !x.json {
		what := "Replaced"
		if created {
			what = "Declared"
		}
		x.done("%s %s.", what, et.Name)
	}
	return x.show(et)
}

func eventTypesPatch(x *inv) error {
	f := x.eventTypeFlags()
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	var p client.EventTypePatch
	if err := x.decodeData(f.data, &p); err != nil {
		return err
	}
	if x.set["description"] {
		p.Description = client.Set(f.description)
	}
	if x.set["archived"] {
		p.Archived = client.Set(f.archived)
	}
	if x.set["schema"] {
		if f.schema == "null" {
			p.Schema = client.Null[json.RawMessage]()
		} else {
			raw, err := x.rawJSON("schema", f.schema)
			if err != nil {
				return err
			}
			p.Schema = client.Set(raw)
		}
	}
	et, err := x.c.EventTypes.Patch(x.ctx, x.tenant, x.pos[0], &p)
	if err != nil {
		return err
	}
	return x.show(et)
}

func eventTypesDelete(x *inv) error {
	expunge := x.flags().Bool("expunge", false, "delete the type for good instead of archiving it")
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	if *expunge {
		if err := x.c.EventTypes.Expunge(x.ctx, x.tenant, x.pos[0]); err != nil {
			return err
		}
		return x.done("Expunged %s.", x.pos[0])
	}
	if err := x.c.EventTypes.Delete(x.ctx, x.tenant, x.pos[0]); err != nil {
		return err
	}
	return x.done("Archived %s.", x.pos[0])
}
