package cli

import (
	"bytes"

	"github.com/hookd/hookd/client"
)

func init() {
	nouns["events"] = &noun{
		summary: "A tenant's events: publish them, read them back. ('hookd listen' streams them.)",
		verbs: []verb{
			{"list", "", "list the tenant's events", eventsList},
			{"get", "<event-id>", "show an event", eventsGet},
			{"publish", "", "publish an event", eventsPublish},
			{"batch", "", "publish up to 1000 events at once, all or nothing", eventsBatch},
		},
	}
}

var eventColumns = []column[client.Event]{
	{"ID", func(e *client.Event) string { return e.ID }},
	{"TYPE", func(e *client.Event) string { return e.Type }},
	{"GROUP", func(e *client.Event) string { return e.Group }},
	{"CREATED", func(e *client.Event) string { return ts(e.CreatedAt) }},
	{"PAYLOAD", func(e *client.Event) string { return clip(string(e.Payload), 60) }},
}

// clip shortens s to n characters for a table.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func eventsList(x *inv) error {
	l := x.listFlags()
	var o client.EventListOptions
	fs := x.flags()
	fs.StringVar(&o.Type, "type", "", "only events of this exact type")
	fs.Var(timeFlag{&o.Since}, "since", "created at or after: RFC 3339, or a duration back from now (1h)")
	fs.Var(timeFlag{&o.Until}, "until", "created before: RFC 3339, or a duration back from now")
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	o.ListOptions = l.options()
	return list(x, l, eventColumns,
		func() (*client.Page[client.Event], error) { return x.c.Events.List(x.ctx, x.tenant, &o) },
		func() iterSeq[client.Event] { return x.c.Events.All(x.ctx, x.tenant, &o) })
}

func eventsGet(x *inv) error {
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	e, err := x.c.Events.Get(x.ctx, x.tenant, x.pos[0])
	if err != nil {
		return err
	}
	return x.show(e)
}

func eventsPublish(x *inv) error {
	var in client.EventInput
	fs := x.flags()
	fs.StringVar(&in.Type, "type", "", "the event's type, e.g. Unit.Updated")
	payload := fs.String("payload", "", "the payload: JSON, @file or @- (default: null)")
	fs.StringVar(&in.Group, "group", "", "the group: a grouped webhook delivers a group's events in order")
	attrs := mapFlag{}
	fs.Var(attrs, "attr", "an attribute for webhooks' filters, name=value (repeated)")
	fs.StringVar(&in.IdempotencyKey, "idempotency-key", "", "publishing again with the same key and body within 24 h creates nothing new")
	data := fs.String("data", "", "the whole event as JSON, @file or @- (flags given beside it win)")
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	flags := in
	in = client.EventInput{}
	if err := x.decodeData(*data, &in); err != nil {
		return err
	}
	if x.set["type"] {
		in.Type = flags.Type
	}
	if x.set["group"] {
		in.Group = flags.Group
	}
	if x.set["idempotency-key"] {
		in.IdempotencyKey = flags.IdempotencyKey
	}
	if x.set["attr"] {
		in.Attributes = attrs
	}
	if x.set["payload"] {
		raw, err := x.rawJSON("payload", *payload)
		if err != nil {
			return err
		}
		in.Payload = raw
	}
	if in.Type == "" {
		return usagef("--type is required")
	}
	res, err := x.c.Events.Publish(x.ctx, x.tenant, &in)
	if err != nil {
		return err
	}
	return x.show(res)
}

func eventsBatch(x *inv) error {
	fs := x.flags()
	data := fs.String("data", "", `the events: {"events": [{"type": …, "payload": …}, …]} or a JSON array of them, @file or @-`)
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	if !x.set["data"] {
		return usagef("--data is required")
	}
	b, err := x.readData(*data)
	if err != nil {
		return err
	}
	var body struct {
		Events []client.EventInput `json:"events"`
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		b = append(append([]byte(`{"events":`), t...), '}')
	}
	if err := x.decodeData(string(b), &body); err != nil {
		return err
	}
	res, err := x.c.Events.PublishBatch(x.ctx, x.tenant, body.Events)
	if err != nil {
		return err
	}
	if x.json {
		return x.printJSON(map[string]any{"data": res})
	}
	return table(x.env.Stdout, []column[client.PublishResult]{
		{"ID", func(r *client.PublishResult) string { return r.ID }},
		{"MESSAGES", func(r *client.PublishResult) string { return itoa(r.Messages) }},
		{"DUPLICATE", func(r *client.PublishResult) string { return map[bool]string{true: "yes", false: "no"}[r.Duplicate] }},
	}, res)
}
