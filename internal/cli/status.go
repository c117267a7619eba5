package cli

import (
	"time"
)

func init() {
	nouns["status"] = &noun{
		summary: "Whether hookd is up and ready (GET /readyz).",
		run:     serverStatus,
	}
}

// statusPoll is how often status --wait asks again.
const statusPoll = 100 * time.Millisecond

func serverStatus(x *inv) error {
	wait := x.flags().Duration("wait", 0, "wait up to this long for hookd to be ready (a script that just started it)")
	x.intro = "Says whether hookd answers and is ready to serve: its store is reachable and takes\n" +
		"writes. Exit status 0 when it is, 1 when not (with the reason). No token needed."
	if err := x.parse(needServer, 0); err != nil {
		return err
	}
	deadline := time.Now().Add(*wait)
	for {
		err := x.c.Ready(x.ctx)
		if err == nil {
			return x.done("hookd at %s is ready.", x.server)
		}
		if time.Now().After(deadline) || x.ctx.Err() != nil {
			return err
		}
		select {
		case <-x.ctx.Done():
		case <-time.After(statusPoll):
		}
	}
}
