package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/cli"
	"github.com/hookd/hookd/internal/hookdtest"
)

// FuzzWebhookCommand runs `hookd webhooks create|patch` with a fuzzed
// --data and fuzzed values of the flags it parses itself (--event-type,
// --header, --filter, --auth, --retry-schedule, --suspend-after) against a
// real hookd: no panic; exit 0, 1 or 2, anything but 0 with a message
// on stderr; a mistake in the command line (2) sends nothing, so stores
// nothing; and a refusal of the server (1) stores nothing either.
func FuzzWebhookCommand(f *testing.F) {
	srv := hookdtest.Start(f, hookdtest.Options{NoEngine: true})
	ctx := context.Background()
	if err := srv.Store.CreateTenant(ctx, &hookd.Tenant{ID: "acme", Name: "Acme"}); err != nil {
		f.Fatal(err)
	}
	base := hookd.NewWebhookDefaults()
	base.TenantID, base.Name, base.URL, base.EventTypes = "acme", "base", "https://example.com/base", []string{"Unit.*"}
	base.Secrets = []hookd.Secret{{Value: hookd.NewSecret()}}
	if err := srv.Store.CreateWebhook(ctx, base); err != nil {
		f.Fatal(err)
	}
	list := func() []*hookd.Webhook {
		ws, err := srv.Store.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "acme", Page: hookd.Page{Limit: 1000}})
		if err != nil {
			f.Fatal(err)
		}
		return ws
	}
	for _, d := range []string{`{"name": "n", "url": "https://example.com/a", "event_types": ["Unit.*"]}`,
		`{"nmae": "x"}`, `{"description": "from data", "auth": null}`, `{"name": 1}`, `{} {}`, `[]`, `null`, ``, `{"retry_schedule": ["1s", "x"]}`,
		`{"failure_handling": {"suspend_after": "90s"}, "max_retries": 1e3, "enabled": null}`} {
		f.Add(false, d, "", "", "", "", "", "")
		f.Add(true, d, "Unit.Updated,Process.*", "X-A: 1", "k=v", "basic:u:p", "1s,5m", "2h")
	}
	f.Add(false, "", "", "X-A", "=v", "bearer:", "1s,,x", "-1h")
	f.Add(true, "", ",,", ": v", "k", "digest:x", "", "1e9h")

	f.Fuzz(func(t *testing.T, patch bool, data, eventType, header, filter, auth, schedule, suspendAfter string) {
		if strings.HasPrefix(data, "@") {
			t.Skip("a file or standard input: not the parser's bytes")
		}
		args := []string{"webhooks", "create"}
		if patch {
			args = []string{"webhooks", "patch", base.ID}
		}
		args = append(args, "--server", srv.URL, "--token", hookdtest.RootToken, "--tenant", "acme", "--json")
		if data != "" {
			args = append(args, "--data="+data)
		}
		for _, fl := range []struct{ name, v string }{{"event-type", eventType}, {"header", header}, {"filter", filter},
			{"auth", auth}, {"retry-schedule", schedule}, {"suspend-after", suspendAfter}} {
			if fl.v != "" {
				args = append(args, "--"+fl.name+"="+fl.v)
			}
		}
		before := list()
		var out, errOut syncBuffer
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		code := cli.Run(rctx, args, cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
		after := list()
		switch code {
		case 0:
			for _, w := range after { // back to the one webhook
				if w.ID != base.ID {
					if err := srv.Store.DeleteWebhook(ctx, "acme", w.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := srv.Store.UpdateWebhook(ctx, base); err != nil {
				t.Fatal(err)
			}
		case 1, 2:
			if errOut.String() == "" {
				t.Fatalf("%q: exit %d without a word", args, code)
			}
			if len(after) != len(before) || after[0].UpdatedAt != before[0].UpdatedAt {
				t.Fatalf("%q: exit %d, but the webhooks changed: %s", args, code, errOut.String())
			}
		default:
			t.Fatalf("%q: exit %d: %s", args, code, errOut.String())
		}
	})
}
