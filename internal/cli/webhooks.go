package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd/client"
)

func init() {
	nouns["webhooks"] = &noun{
		summary: "A tenant's webhooks: where and how to deliver which of its events.",
		verbs: []verb{
			{"list", "", "list the tenant's webhooks", webhooksList},
			{"get", "<webhook-id>", "show a webhook", webhooksGet},
			{"create", "", "register a webhook; its signing secret is in the answer", webhooksCreate},
			{"update", "<webhook-id>", "replace a webhook (PUT): what is not given goes back to its default", webhooksUpdate},
			{"patch", "<webhook-id>", "change the fields given, keep the others", webhooksPatch},
			{"delete", "<webhook-id>", "delete a webhook; its undelivered messages are aborted", webhooksDelete},
			{"unsuspend", "<webhook-id>", "resume a suspended webhook", webhooksUnsuspend},
			{"test", "<webhook-id>", "send a test event now and show the attempt", webhooksTest},
			{"secrets", "<webhook-id>", "show the signing secrets, newest first", webhooksSecrets},
			{"rotate", "<webhook-id>", "make a new signing secret; the old one signs beside it for 24 h", webhooksRotate},
			{"recover", "<webhook-id>", "queue the webhook's failed messages again", webhooksRecover},
		},
	}
}

var webhookColumns = []column[client.Webhook]{
	{"ID", func(w *client.Webhook) string { return w.ID }},
	{"NO.", func(w *client.Webhook) string { return itoa(w.Number) }},
	{"NAME", func(w *client.Webhook) string { return w.Name }},
	{"URL", func(w *client.Webhook) string { return w.URL }},
	{"EVENT TYPES", func(w *client.Webhook) string { return strings.Join(w.EventTypes, ",") }},
	{"STATE", func(w *client.Webhook) string { return webhookState(w) }},
}

func webhookState(w *client.Webhook) string {
	switch {
	case w.Suspended:
		return "suspended"
	case !w.Enabled:
		return "disabled"
	}
	return "active"
}

func webhooksList(x *inv) error {
	l := x.listFlags()
	var o client.WebhookListOptions
	fs := x.flags()
	fs.StringVar(&o.Name, "name", "", "a part of the name, any case")
	fs.StringVar(&o.URL, "url", "", "the exact URL")
	fs.StringVar(&o.URLPrefix, "url-prefix", "", "a prefix of the URL")
	enabled := fs.Bool("enabled", false, "only enabled webhooks (--enabled=false: only disabled ones)")
	suspended := fs.Bool("suspended", false, "only suspended webhooks (--suspended=false: only the others)")
	active := fs.Bool("active", false, "only active webhooks: enabled and not suspended (--active=false: the others)")
	types := &listFlag{split: true}
	fs.Var(types, "event-type", "webhooks that would get any of these types, or have one as a pattern (repeated or comma-separated)")
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	o.ListOptions = l.options()
	o.Enabled, o.Suspended, o.Active = x.boolPtr("enabled", *enabled), x.boolPtr("suspended", *suspended), x.boolPtr("active", *active)
	o.EventTypes = types.v
	return list(x, l, webhookColumns,
		func() (*client.Page[client.Webhook], error) { return x.c.Webhooks.List(x.ctx, x.tenant, &o) },
		func() iterSeq[client.Webhook] { return x.c.Webhooks.All(x.ctx, x.tenant, &o) })
}

func webhooksGet(x *inv) error {
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	w, err := x.c.Webhooks.Get(x.ctx, x.tenant, x.pos[0])
	if err != nil {
		return err
	}
	return x.show(w)
}

// webhookFlags are the flags of a webhook's fields, shared by create,
// update and patch; which were given decides what a patch changes.
type webhookFlags struct {
	name, description, url, auth, retrySchedule string
	enabled, grouped, continueOnFailure         bool
	eventTypes, secrets                         *listFlag
	filter                                      mapFlag
	headers                                     headerFlag
	timeoutMS, maxRetries, rateLimit            int
	maxInFlight                                 int
	suspendAfter                                time.Duration
	data                                        string
}

func (x *inv) webhookFlags() *webhookFlags {
	f := &webhookFlags{eventTypes: &listFlag{split: true}, secrets: &listFlag{}, filter: mapFlag{}, headers: headerFlag{}}
	fs := x.flags()
	fs.StringVar(&f.name, "name", "", "the webhook's name")
	fs.StringVar(&f.description, "description", "", "what it is for")
	fs.StringVar(&f.url, "url", "", "where to POST deliveries")
	fs.BoolVar(&f.enabled, "enabled", true, "deliver to it (--enabled=false: keep its messages pending)")
	fs.Var(f.eventTypes, "event-type", `the types it gets: exact, "*", or a prefix like "Unit.*" (repeated or comma-separated)`)
	fs.Var(f.filter, "filter", "only events with this attribute, name=value (repeated: all must hold)")
	fs.Var(f.headers, "header", `a header sent with every delivery, "Name: value" (repeated)`)
	fs.StringVar(&f.auth, "auth", "", `authentication towards the target: "basic:<user>:<password>" or "bearer:<token>"`)
	fs.Var(f.secrets, "secret", "a signing secret, whsec_… or 16..128 printable characters (default: generated on create)")
	fs.IntVar(&f.timeoutMS, "timeout-ms", 0, "how long an attempt may take, 1000..30000 (default: 10000)")
	fs.IntVar(&f.maxRetries, "max-retries", 0, "retries after the first attempt (default: 6)")
	fs.StringVar(&f.retrySchedule, "retry-schedule", "", "the waits between attempts, comma-separated (default: the server's)")
	fs.BoolVar(&f.grouped, "grouped", false, "deliver one group's messages one at a time, in publish order")
	fs.BoolVar(&f.continueOnFailure, "continue-on-failure", false, "a failed message does not block its group")
	fs.DurationVar(&f.suspendAfter, "suspend-after", 0, "suspend after failing this long (0: never; default: 120h)")
	fs.IntVar(&f.rateLimit, "rate-limit", 0, "deliveries per second at most (0: unlimited)")
	fs.IntVar(&f.maxInFlight, "max-in-flight", 0, "attempts at once at most, 1..1000 (default: the server's)")
	fs.StringVar(&f.data, "data", "", "the whole body as JSON, @file or @- (flags given beside it win)")
	return f
}

// parseAuth reads --auth.
func parseAuth(s string) (client.Auth, error) {
	typ, rest, _ := strings.Cut(s, ":")
	switch typ {
	case client.AuthBasic:
		user, pass, ok := strings.Cut(rest, ":")
		if !ok {
			return client.Auth{}, usagef(`--auth: want "basic:<user>:<password>"`)
		}
		return client.Auth{Type: typ, Username: user, Password: pass}, nil
	case client.AuthBearer:
		return client.Auth{Type: typ, Token: rest}, nil
	}
	return client.Auth{}, usagef(`--auth: want "basic:<user>:<password>" or "bearer:<token>"`)
}

// input returns the body of a create or PUT: --data, with the flags given
// over it.
func (f *webhookFlags) input(x *inv) (*client.WebhookInput, error) {
	var in client.WebhookInput
	if err := x.decodeData(f.data, &in); err != nil {
		return nil, err
	}
	set := x.set
	if set["name"] {
		in.Name = f.name
	}
	if set["description"] {
		in.Description = f.description
	}
	if set["url"] {
		in.URL = f.url
	}
	if set["enabled"] {
		in.Enabled = &f.enabled
	}
	if set["event-type"] {
		in.EventTypes = f.eventTypes.v
	}
	if set["filter"] {
		in.Filter = f.filter
	}
	if set["header"] {
		in.Headers = f.headers
	}
	if set["auth"] {
		a, err := parseAuth(f.auth)
		if err != nil {
			return nil, err
		}
		in.Auth = &a
	}
	if set["secret"] {
		in.Secrets = f.secrets.v
	}
	if set["timeout-ms"] {
		in.TimeoutMS = f.timeoutMS
	}
	if set["max-retries"] {
		in.MaxRetries = &f.maxRetries
	}
	if set["retry-schedule"] {
		d, err := durations(f.retrySchedule)
		if err != nil {
			return nil, usagef("--retry-schedule: %v", err)
		}
		in.RetrySchedule = d
	}
	if set["grouped"] {
		in.Grouped = f.grouped
	}
	if set["continue-on-failure"] {
		in.ContinueOnFailure = f.continueOnFailure
	}
	if set["suspend-after"] {
		in.FailureHandling = &client.FailureHandling{SuspendAfter: client.Duration(f.suspendAfter)}
	}
	if set["rate-limit"] {
		in.RateLimit = f.rateLimit
	}
	if set["max-in-flight"] {
		in.MaxInFlight = &f.maxInFlight
	}
	return &in, nil
}

func webhooksCreate(x *inv) error {
	f := x.webhookFlags()
	x.intro = "Registers a webhook of the tenant. The answer shows its signing secret (whsec_…),\n" +
		"which the receiver verifies deliveries with; 'hookd webhooks secrets' shows it again."
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	in, err := f.input(x)
	if err != nil {
		return err
	}
	w, err := x.c.Webhooks.Create(x.ctx, x.tenant, in)
	if err != nil {
		return err
	}
	return x.show(w)
}

func webhooksUpdate(x *inv) error {
	f := x.webhookFlags()
	x.intro = "Replaces a webhook (PUT): every field not given, by a flag or in --data, goes\n" +
		"back to its default; the signing secrets stay unless --secret is given.\n" +
		"'hookd webhooks patch' changes only what it is given."
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	in, err := f.input(x)
	if err != nil {
		return err
	}
	w, err := x.c.Webhooks.Replace(x.ctx, x.tenant, x.pos[0], in)
	if err != nil {
		return err
	}
	return x.show(w)
}

func webhooksPatch(x *inv) error {
	f := x.webhookFlags()
	fs := x.flags()
	addTypes, removeTypes := &listFlag{split: true}, &listFlag{split: true}
	fs.Var(addTypes, "add-event-type", "add event types to the webhook's (repeated or comma-separated)")
	fs.Var(removeTypes, "remove-event-type", "remove event types from the webhook's")
	addHeaders := headerFlag{}
	fs.Var(addHeaders, "add-header", `add or replace a header, "Name: value" (repeated)`)
	removeHeaders := &listFlag{split: true}
	fs.Var(removeHeaders, "remove-header", "remove a header by name")
	reset := &listFlag{split: true}
	fs.Var(reset, "reset", "set fields back to their defaults (JSON null), by their API names: auth, rate_limit, … (repeated or comma-separated)")
	x.intro = "Changes the fields given by flags (or in --data, where null resets a field) and keeps\n" +
		"every other. --add-event-type and --remove-event-type change the list in place."
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	var p client.WebhookPatch
	if err := x.decodeData(f.data, &p); err != nil {
		return err
	}
	set := x.set
	if set["name"] {
		p.Name = client.Set(f.name)
	}
	if set["description"] {
		p.Description = client.Set(f.description)
	}
	if set["url"] {
		p.URL = client.Set(f.url)
	}
	if set["enabled"] {
		p.Enabled = client.Set(f.enabled)
	}
	if set["event-type"] {
		p.EventTypes = client.Set(f.eventTypes.v)
	}
	if set["filter"] {
		p.Filter = client.Set(map[string]string(f.filter))
	}
	if set["header"] {
		p.Headers = client.Set(map[string][]string(f.headers))
	}
	if set["auth"] {
		a, err := parseAuth(f.auth)
		if err != nil {
			return err
		}
		p.Auth = client.Set(a)
	}
	if set["secret"] {
		p.Secrets = client.Set(f.secrets.v)
	}
	if set["timeout-ms"] {
		p.TimeoutMS = client.Set(f.timeoutMS)
	}
	if set["max-retries"] {
		p.MaxRetries = client.Set(f.maxRetries)
	}
	if set["retry-schedule"] {
		d, err := durations(f.retrySchedule)
		if err != nil {
			return usagef("--retry-schedule: %v", err)
		}
		p.RetrySchedule = client.Set(d)
	}
	if set["grouped"] {
		p.Grouped = client.Set(f.grouped)
	}
	if set["continue-on-failure"] {
		p.ContinueOnFailure = client.Set(f.continueOnFailure)
	}
	if set["suspend-after"] {
		p.FailureHandling = client.Set(client.FailureHandling{SuspendAfter: client.Duration(f.suspendAfter)})
	}
	if set["rate-limit"] {
		p.RateLimit = client.Set(f.rateLimit)
	}
	if set["max-in-flight"] {
		p.MaxInFlight = client.Set(f.maxInFlight)
	}
	p.AddEventTypes = append(p.AddEventTypes, addTypes.v...)
	p.RemoveEventTypes = append(p.RemoveEventTypes, removeTypes.v...)
	for k, v := range addHeaders {
		if p.AddHeaders == nil {
			p.AddHeaders = map[string][]string{}
		}
		p.AddHeaders[k] = v
	}
	p.RemoveHeaders = append(p.RemoveHeaders, removeHeaders.v...)
	for _, name := range reset.v {
		if err := resetField(&p, name); err != nil {
			return err
		}
	}
	w, err := x.c.Webhooks.Patch(x.ctx, x.tenant, x.pos[0], &p)
	if err != nil {
		return err
	}
	return x.show(w)
}

// resetField sets a patch's field to null by its API name.
func resetField(p *client.WebhookPatch, name string) error {
	switch name {
	case "description":
		p.Description = client.Null[string]()
	case "filter":
		p.Filter = client.Null[map[string]string]()
	case "headers":
		p.Headers = client.Null[map[string][]string]()
	case "auth":
		p.Auth = client.Null[client.Auth]()
	case "timeout_ms":
		p.TimeoutMS = client.Null[int]()
	case "max_retries":
		p.MaxRetries = client.Null[int]()
	case "retry_schedule":
		p.RetrySchedule = client.Null[[]client.Duration]()
	case "failure_handling":
		p.FailureHandling = client.Null[client.FailureHandling]()
	case "rate_limit":
		p.RateLimit = client.Null[int]()
	case "max_in_flight":
		p.MaxInFlight = client.Null[int]()
	default:
		return usagef("--reset %q: want one of description, filter, headers, auth, timeout_ms, max_retries, "+
			"retry_schedule, failure_handling, rate_limit, max_in_flight", name)
	}
	return nil
}

func webhooksDelete(x *inv) error {
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	if err := x.c.Webhooks.Delete(x.ctx, x.tenant, x.pos[0]); err != nil {
		return err
	}
	return x.done("Deleted webhook %s.", x.pos[0])
}

func webhooksUnsuspend(x *inv) error {
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	w, err := x.c.Webhooks.Unsuspend(x.ctx, x.tenant, x.pos[0])
	if err != nil {
		return err
	}
	return x.show(w)
}

func webhooksTest(x *inv) error {
	var in client.TestInput
	fs := x.flags()
	fs.StringVar(&in.Type, "type", "", "the test event's type (default: webhook.test)")
	payload := fs.String("payload", "", "the test event's payload: JSON, @file or @- (default: {})")
	headers := headerFlag{}
	fs.Var(headers, "header", `a header for this call only, over the webhook's, "Name: value" (repeated)`)
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	if x.set["payload"] {
		raw, err := x.rawJSON("payload", *payload)
		if err != nil {
			return err
		}
		in.Payload = raw
	}
	if len(headers) > 0 {
		in.Headers = headers
	}
	a, err := x.c.Webhooks.Test(x.ctx, x.tenant, x.pos[0], &in)
	if err != nil {
		return err
	}
	return x.show(a)
}

func webhooksSecrets(x *inv) error {
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	s, err := x.c.Webhooks.Secrets(x.ctx, x.tenant, x.pos[0])
	if err != nil {
		return err
	}
	return x.secrets(s)
}

// secrets prints secrets one a line, newest first (--json: as the API).
func (x *inv) secrets(s []string) error {
	if x.json {
		return x.printJSON(map[string][]string{"secrets": s})
	}
	for _, v := range s {
		fmt.Fprintln(x.env.Stdout, v)
	}
	return nil
}

func webhooksRotate(x *inv) error {
	fs := x.flags()
	secret := fs.String("secret", "", "the new secret (default: generated)")
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	s, err := x.c.Webhooks.RotateSecret(x.ctx, x.tenant, x.pos[0], *secret)
	if err != nil {
		return err
	}
	return x.secrets(s)
}

func webhooksRecover(x *inv) error {
	var in client.RecoverInput
	fs := x.flags()
	fs.Var(timeFlag{&in.Since}, "since", "failed messages created at or after this time: RFC 3339, or a duration back from now (24h)")
	fs.Var(timeFlag{&in.Until}, "until", "and before this time (default: now)")
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	if !x.set["since"] {
		return usagef("--since is required (24h: the failures of the last day)")
	}
	n, err := x.c.Webhooks.Recover(x.ctx, x.tenant, x.pos[0], &in)
	if err != nil {
		return err
	}
	if x.json {
		return x.printJSON(map[string]int{"count": n})
	}
	return x.done("Queued %d failed message(s) again.", n)
}
