package cli

import (
	"time"

	"github.com/hookd/hookd/client"
)

func init() {
	nouns["keys"] = &noun{
		summary: "A tenant's API keys (root token, or a key with scope admin).",
		verbs: []verb{
			{"list", "", "list the tenant's keys", keysList},
			{"create", "", "create a key; its token is shown only in this answer", keysCreate},
			{"delete", "<key-id>", "revoke a key", keysDelete},
		},
	}
	nouns["portal-links"] = &noun{
		summary: "One-use links to the dashboard for a tenant's own people (scope admin).",
		verbs: []verb{
			{"list", "", "list the tenant's newest 200 links (their URLs are never shown again)", portalList},
			{"create", "", "make a portal link", portalCreate},
			{"revoke", "<link-id>", "make a link unusable; a used one also ends its session", portalRevoke},
		},
	}
}

var keyColumns = []column[client.APIKey]{
	{"ID", func(k *client.APIKey) string { return k.ID }},
	{"NAME", func(k *client.APIKey) string { return k.Name }},
	{"SCOPES", func(k *client.APIKey) string { return join(k.Scopes) }},
	{"PREFIX", func(k *client.APIKey) string { return k.Prefix }},
	{"CREATED", func(k *client.APIKey) string { return ts(k.CreatedAt) }},
	{"LAST USED", func(k *client.APIKey) string { return tsp(k.LastUsedAt) }},
}

func keysList(x *inv) error {
	l := x.listFlags()
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	o := l.options()
	return list(x, l, keyColumns,
		func() (*client.Page[client.APIKey], error) { return x.c.Keys.List(x.ctx, x.tenant, &o) },
		func() iterSeq[client.APIKey] { return x.c.Keys.All(x.ctx, x.tenant, &o) })
}

func keysCreate(x *inv) error {
	var in client.KeyInput
	fs := x.flags()
	fs.StringVar(&in.Name, "name", "", "the key's name")
	scopes := &listFlag{split: true}
	fs.Var(scopes, "scope", "a scope, repeated or comma-separated: webhooks:list, webhooks:read, webhooks:write, "+
		"events:read, events:write, messages:read, messages:write, admin")
	data := fs.String("data", "", "the whole body as JSON, @file or @- (flags given beside it win)")
	x.intro = "Creates an API key of the tenant. Its token (hk_…) is shown only in this answer:\n" +
		"with --json, `jq -r .token` takes it."
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	name := in.Name
	if err := x.decodeData(*data, &in); err != nil {
		return err
	}
	if x.set["name"] {
		in.Name = name
	}
	if x.set["scope"] {
		in.Scopes = nil
		for _, s := range scopes.v {
			in.Scopes = append(in.Scopes, client.Scope(s))
		}
	}
	if len(in.Scopes) == 0 {
		return usagef("give at least one --scope (admin for every operation of the tenant)")
	}
	k, err := x.c.Keys.Create(x.ctx, x.tenant, &in)
	if err != nil {
		return err
	}
	return x.show(k)
}

func keysDelete(x *inv) error {
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	if err := x.c.Keys.Delete(x.ctx, x.tenant, x.pos[0]); err != nil {
		return err
	}
	return x.done("Revoked key %s.", x.pos[0])
}

func portalCreate(x *inv) error {
	var in client.PortalLinkInput
	fs := x.flags()
	fs.BoolVar(&in.ReadOnly, "read-only", false, "the session may only read")
	fs.StringVar(&in.Label, "label", "", "who or what the link is for, shown in lists")
	expires := fs.Duration("expires-in", 0, "how long the link may be used, 1m..168h (default: the server's, 15m)")
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	in.ExpiresIn = client.Duration(*expires)
	l, err := x.c.PortalLinks.Create(x.ctx, x.tenant, &in)
	if err != nil {
		return err
	}
	if x.json {
		return x.printJSON(l)
	}
	mode := "read and write"
	if l.ReadOnly {
		mode = "read only"
	}
	return x.done("%s\n(%s; use it once before %s)", l.URL, mode, l.ExpiresAt.Local().Format(time.DateTime))
}

var portalColumns = []column[client.PortalLink]{
	{"ID", func(l *client.PortalLink) string { return l.ID }},
	{"LABEL", func(l *client.PortalLink) string { return l.Label }},
	{"STATUS", func(l *client.PortalLink) string { return l.Status }},
	{"READ ONLY", func(l *client.PortalLink) string {
		if l.ReadOnly {
			return "yes"
		}
		return "no"
	}},
	{"CREATED BY", func(l *client.PortalLink) string { return l.CreatedBy }},
	{"CREATED", func(l *client.PortalLink) string { return ts(l.CreatedAt) }},
	{"EXPIRES", func(l *client.PortalLink) string { return ts(l.ExpiresAt) }},
}

func portalList(x *inv) error {
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	p, err := x.c.PortalLinks.List(x.ctx, x.tenant)
	if err != nil {
		return err
	}
	// One page: --all would change nothing, so it is not offered.
	return list(x, &listFlags{}, portalColumns,
		func() (*client.Page[client.PortalLink], error) { return p, nil }, nil)
}

func portalRevoke(x *inv) error {
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	if err := x.c.PortalLinks.Revoke(x.ctx, x.tenant, x.pos[0]); err != nil {
		return err
	}
	return x.done("Revoked portal link %s.", x.pos[0])
}
