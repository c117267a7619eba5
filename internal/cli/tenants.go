package cli

import (
	"github.com/hookd/hookd/client"
)

func init() {
	nouns["tenants"] = &noun{
		summary: "Tenants: your customers, each with its own keys, webhooks, events and messages (root token only).",
		verbs: []verb{
			{"list", "", "list the tenants", tenantsList},
			{"get", "<tenant>", "show a tenant", tenantsGet},
			{"create", "", "create a tenant", tenantsCreate},
			{"delete", "<tenant>", "delete a tenant with everything it owns", tenantsDelete},
		},
	}
	nouns["whoami"] = &noun{
		summary: "Who the token is: the root token, or an API key of a tenant.",
		run:     whoami,
	}
}

var tenantColumns = []column[client.Tenant]{
	{"ID", func(t *client.Tenant) string { return t.ID }},
	{"NAME", func(t *client.Tenant) string { return t.Name }},
	{"CREATED", func(t *client.Tenant) string { return ts(t.CreatedAt) }},
}

func tenantsList(x *inv) error {
	l := x.listFlags()
	if err := x.parse(needClient, 0); err != nil {
		return err
	}
	o := l.options()
	return list(x, l, tenantColumns,
		func() (*client.Page[client.Tenant], error) { return x.c.Tenants.List(x.ctx, &o) },
		func() iterSeq[client.Tenant] { return x.c.Tenants.All(x.ctx, &o) })
}

func tenantsGet(x *inv) error {
	if err := x.parse(needClient, 1); err != nil {
		return err
	}
	t, err := x.c.Tenants.Get(x.ctx, x.pos[0])
	if err != nil {
		return err
	}
	return x.show(t)
}

func tenantsCreate(x *inv) error {
	var in client.TenantInput
	fs := x.flags()
	fs.StringVar(&in.ID, "id", "", "the tenant's id, ^[a-z0-9][a-z0-9_-]{0,63}$ (default: generated, ten_…)")
	fs.StringVar(&in.Name, "name", "", "the tenant's name")
	data := fs.String("data", "", "the whole body as JSON, @file or @- (flags given beside it win)")
	if err := x.parse(needClient, 0); err != nil {
		return err
	}
	id, name := in.ID, in.Name
	if err := x.decodeData(*data, &in); err != nil {
		return err
	}
	if x.set["id"] {
		in.ID = id
	}
	if x.set["name"] {
		in.Name = name
	}
	t, err := x.c.Tenants.Create(x.ctx, &in)
	if err != nil {
		return err
	}
	return x.show(t)
}

func tenantsDelete(x *inv) error {
	if err := x.parse(needClient, 1); err != nil {
		return err
	}
	if err := x.c.Tenants.Delete(x.ctx, x.pos[0]); err != nil {
		return err
	}
	return x.done("Deleted tenant %s.", x.pos[0])
}

func whoami(x *inv) error {
	if err := x.parse(needClient, 0); err != nil {
		return err
	}
	w, err := x.c.Whoami(x.ctx)
	if err != nil {
		return err
	}
	if x.json {
		return x.printJSON(w)
	}
	if w.Root {
		return x.done("The root token: every tenant, every operation.")
	}
	return x.show(w.Key)
}
