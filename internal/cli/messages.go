package cli

import (
	"context"

	"github.com/hookd/hookd/client"
)

func init() {
	nouns["messages"] = &noun{
		summary: "A tenant's messages (one event for one webhook) and their delivery attempts.",
		verbs: []verb{
			{"list", "", "list the tenant's messages", messagesList},
			{"get", "<message-id>", "show a message", messagesGet},
			{"attempts", "<message-id>", "list a message's attempts, oldest first", messagesAttempts},
			{"retry", "<message-id>", "attempt a message again now", messageAction((*client.MessagesService).Retry)},
			{"abort", "<message-id>", "end a message without further attempts", messageAction((*client.MessagesService).Abort)},
			{"resolve", "<message-id>", "mark a message resolved by hand (unblocks its group)", messageAction((*client.MessagesService).Resolve)},
		},
	}
}

var messageColumns = []column[client.Message]{
	{"ID", func(m *client.Message) string { return m.ID }},
	{"EVENT TYPE", func(m *client.Message) string { return m.EventType }},
	{"WEBHOOK", func(m *client.Message) string { return m.WebhookID }},
	{"STATE", func(m *client.Message) string { return string(m.State) }},
	{"ATTEMPTS", func(m *client.Message) string { return itoa(m.AttemptCount) }},
	{"LAST STATUS", func(m *client.Message) string { return status(m.LastStatusCode, m.LastError) }},
	{"CREATED", func(m *client.Message) string { return ts(m.CreatedAt) }},
}

// status shows an answer's status, or the error without one.
func status(code int, errCode string) string {
	switch {
	case code != 0:
		return itoa(code)
	case errCode != "":
		return errCode
	}
	return "-"
}

var attemptColumns = []column[client.Attempt]{
	{"NO.", func(a *client.Attempt) string { return itoa(a.Number) }},
	{"ID", func(a *client.Attempt) string { return a.ID }},
	{"TRIGGER", func(a *client.Attempt) string { return a.Trigger }},
	{"STARTED", func(a *client.Attempt) string { return ts(a.StartedAt) }},
	{"DURATION", func(a *client.Attempt) string { return itoa(int(a.DurationMS)) + " ms" }},
	{"STATUS", func(a *client.Attempt) string { return status(a.StatusCode, "") }},
	{"RESULT", func(a *client.Attempt) string {
		if a.Success {
			return "success"
		}
		return a.Error
	}},
	{"RESPONSE", func(a *client.Attempt) string { return clip(a.ResponseBody, 40) }},
}

func messagesList(x *inv) error {
	l := x.listFlags()
	var o client.MessageListOptions
	fs := x.flags()
	fs.StringVar(&o.WebhookID, "webhook", "", "only the messages of this webhook")
	fs.StringVar(&o.EventID, "event", "", "only the messages of this event")
	fs.StringVar(&o.EventType, "event-type", "", "only the messages of events of this exact type")
	states := &listFlag{split: true}
	fs.Var(states, "state", "only messages in these states: created, pending, retrying, successful, failed, aborted, resolved (repeated or comma-separated)")
	fs.Var(timeFlag{&o.Since}, "since", "created at or after: RFC 3339, or a duration back from now (1h)")
	fs.Var(timeFlag{&o.Until}, "until", "created before: RFC 3339, or a duration back from now")
	if err := x.parse(needTenant|needClient, 0); err != nil {
		return err
	}
	o.ListOptions = l.options()
	for _, s := range states.v {
		o.States = append(o.States, client.MessageState(s))
	}
	return list(x, l, messageColumns,
		func() (*client.Page[client.Message], error) { return x.c.Messages.List(x.ctx, x.tenant, &o) },
		func() iterSeq[client.Message] { return x.c.Messages.All(x.ctx, x.tenant, &o) })
}

func messagesGet(x *inv) error {
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	m, err := x.c.Messages.Get(x.ctx, x.tenant, x.pos[0])
	if err != nil {
		return err
	}
	return x.show(m)
}

func messagesAttempts(x *inv) error {
	l := x.listFlags()
	if err := x.parse(needTenant|needClient, 1); err != nil {
		return err
	}
	o := l.options()
	return list(x, l, attemptColumns,
		func() (*client.Page[client.Attempt], error) {
			return x.c.Messages.Attempts(x.ctx, x.tenant, x.pos[0], &o)
		},
		func() iterSeq[client.Attempt] { return x.c.Messages.AllAttempts(x.ctx, x.tenant, x.pos[0], &o) })
}

// messageAction is the verb of one of a message's actions, given as a
// method expression of client.MessagesService.
func messageAction(act func(*client.MessagesService, context.Context, string, string) (*client.Message, error)) func(x *inv) error {
	return func(x *inv) error {
		if err := x.parse(needTenant|needClient, 1); err != nil {
			return err
		}
		m, err := act(x.c.Messages, x.ctx, x.tenant, x.pos[0])
		if err != nil {
			return err
		}
		return x.show(m)
	}
}
