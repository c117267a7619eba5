package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/delivery"
)

func init() {
	nouns["listen"] = &noun{
		summary: "Forward a tenant's events, signed, to a local URL while you develop.",
		run:     listen,
	}
}

const listenIntro = `Holds a stream of the tenant's events open to hookd (GET …/stream; the key needs
events:read) and forwards each event published from now on whose type matches
--events to --forward-to, signed as hookd signs deliveries, so that a receiver
that verifies signatures (package verify, the Standard Webhooks libraries)
accepts it. It prints one line per event with the receiver's answer.

hookd never dials --forward-to, this command does: any URL works (localhost is
the point), whatever the server's target policy. Nothing is retried and no
webhook is needed: the events' real messages are delivered as usual.
The signing secret is made up for the session and printed; --secret keeps
the same one across sessions. When the stream drops (hookd restarts), it
connects again and goes on after the last event it got. Ctrl-C stops it.
Without --forward-to it only prints the events (--json: each body a line).

  hookd listen --forward-to http://localhost:3000/hook --events 'Unit.*'`

func listen(x *inv) error {
	fs := x.flags()
	forward := fs.String("forward-to", "", "the URL to POST each event to (default: only print them)")
	events := &listFlag{split: true}
	fs.Var(events, "events", `the event types to forward: exact, "*", or a prefix like "Unit.*" (repeated or comma-separated; default: all)`)
	secret := fs.String("secret", "", "the signing secret, whsec_… or 16..128 printable characters (default: a new one)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long the receiver may take to answer")
	x.intro = listenIntro
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	if *forward != "" {
		if u, err := url.Parse(*forward); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("--forward-to %q: want an http(s) URL, like http://localhost:3000/hook", *forward)
		}
	}
	if *secret == "" {
		*secret = hookd.NewSecret()
	} else if msg := hookd.CheckSecret(*secret); !msg.IsZero() {
		return usagef("--secret %s", msg)
	}
	ctx, stop := signal.NotifyContext(x.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	f := &forwarder{
		url:    *forward,
		signer: delivery.NewSigner([]hookd.Secret{{Value: *secret}}, time.Now()),
		http: &http.Client{Timeout: *timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // as hookd: a redirect is the answer
		}},
	}
	types := "every event"
	if len(events.v) > 0 {
		types = "the events of type " + strings.Join(events.v, ", ")
	}
	stderr := x.env.Stderr
	connected := false
	opts := &client.StreamOptions{
		EventTypes: events.v,
		OnConnect: func() {
			if connected {
				fmt.Fprintf(stderr, "Connected again; going on after the last event.\n")
				return
			}
			connected = true
			if f.url == "" {
				fmt.Fprintf(stderr, "Ready! Printing %s of tenant %s as it is published (Ctrl-C to quit).\n", types, x.tenant)
				return
			}
			fmt.Fprintf(stderr, "Ready! Forwarding %s of tenant %s to %s (Ctrl-C to quit).\n"+
				"The signing secret of this session is %s\n", types, x.tenant, f.url, *secret)
		},
		OnDisconnect: func(err error, wait time.Duration) {
			fmt.Fprintf(stderr, "Lost the stream (%v); connecting again in %s.\n", err, wait.Round(10*time.Millisecond))
		},
	}
	for d, err := range x.c.Stream(ctx, x.tenant, opts) {
		if err != nil {
			return err
		}
		if f.url == "" {
			if x.json {
				fmt.Fprintf(x.env.Stdout, "%s\n", d.Body)
			} else {
				fmt.Fprintf(x.env.Stdout, "%s  %s  %s  %s\n", ts(time.Now()), d.Type, d.EventID, clip(string(d.Data), 200))
			}
			continue
		}
		fmt.Fprintf(x.env.Stdout, "%s  %s  %s  → %s\n", ts(time.Now()), d.Type, d.EventID, f.forward(ctx, d))
	}
	return nil
}

// forwarder POSTs deliveries to the local URL.
type forwarder struct {
	url    string
	signer *delivery.Signer
	http   *http.Client
}

// forward POSTs one delivery, signed now, and says how it went: the
// status and the time taken, with the start of the answer when it is not
// a success.
func (f *forwarder) forward(ctx context.Context, d *client.StreamDelivery) string {
	now := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(d.Body))
	if err != nil {
		return "failed: " + err.Error()
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "hookd-listen/"+hookd.Version)
	h.Set("Webhook-Id", d.ID)
	h.Set("Webhook-Timestamp", fmt.Sprint(now.Unix()))
	h.Set("Webhook-Signature", f.signer.Sign(d.ID, now, d.Body))
	res, err := f.http.Do(req)
	took := time.Since(now).Round(time.Millisecond)
	if err != nil {
		return fmt.Sprintf("failed after %s: %v", took, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	out := fmt.Sprintf("%d (%d ms)", res.StatusCode, took.Milliseconds())
	if res.StatusCode >= 300 {
		if s := oneLine(strings.TrimSpace(string(body))); s != "" {
			out += ": " + clip(s, 200)
		}
	}
	return out
}
