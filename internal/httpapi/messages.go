package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/hookd/hookd"
)

// messageView is a message as the API shows it.
type messageView struct {
	ID             string     `json:"id"`
	TenantID       string     `json:"tenant_id"`
	WebhookID      string     `json:"webhook_id"`
	EventID        string     `json:"event_id"`
	EventType      string     `json:"event_type"`
	Group          *string    `json:"group"`
	State          string     `json:"state"`
	AttemptCount   int        `json:"attempt_count"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	LastStatusCode *int       `json:"last_status_code"`
	LastError      *string    `json:"last_error"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func viewMessage(m *hookd.Message) messageView {
	v := messageView{ID: m.ID, TenantID: m.TenantID, WebhookID: m.WebhookID, EventID: m.EventID,
		EventType: m.EventType, State: string(m.State), AttemptCount: m.AttemptCount,
		NextAttemptAt: utcPtr(m.NextAttemptAt), LastAttemptAt: utcPtr(m.LastAttemptAt),
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC()}
	if m.Group != "" {
		v.Group = &m.Group
	}
	if m.LastStatusCode != 0 {
		v.LastStatusCode = &m.LastStatusCode
	}
	if m.LastError != "" {
		v.LastError = &m.LastError
	}
	return v
}

// attemptView is one delivery attempt.
type attemptView struct {
	ID           string    `json:"id"`
	TenantID     string    `json:"tenant_id"`
	MessageID    string    `json:"message_id"`
	WebhookID    string    `json:"webhook_id"`
	Number       int       `json:"number"`
	Trigger      string    `json:"trigger"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   int64     `json:"duration_ms"`
	StatusCode   *int      `json:"status_code"`
	Error        *string   `json:"error"`
	ResponseBody string    `json:"response_body"`
	Success      bool      `json:"success"`
}

func viewAttempt(a *hookd.Attempt) attemptView {
	v := attemptView{ID: a.ID, TenantID: a.TenantID, MessageID: a.MessageID, WebhookID: a.WebhookID,
		Number: a.Number, Trigger: string(a.Trigger), StartedAt: a.StartedAt.UTC(), DurationMS: a.DurationMS,
		ResponseBody: a.ResponseBody, Success: a.Success}
	if a.StatusCode != 0 {
		v.StatusCode = &a.StatusCode
	}
	if a.Error != "" {
		v.Error = &a.Error
	}
	return v
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, c *call) error {
	return listing[*hookd.Message, messageView]{
		params: []string{"webhook_id", "event_id", "state", "event_type", "since", "until"},
		filter: func(q url.Values, f *hookd.Fields) fetchPage[*hookd.Message] {
			filter := hookd.MessageFilter{WebhookID: q.Get("webhook_id"), EventID: q.Get("event_id"),
				EventType: q.Get("event_type"), Since: queryTime(q, "since", f), Until: queryTime(q, "until", f)}
			for _, st := range q["state"] {
				if !hookd.ValidState(st) {
					f.Add("state", "%q is not a message state (created, pending, retrying, successful, failed, aborted, resolved)", st)
					continue
				}
				filter.States = append(filter.States, hookd.MessageState(st))
			}
			return func(ctx context.Context, p hookd.Page) ([]*hookd.Message, error) {
				filter.Page = p
				return s.Store.ListMessages(ctx, c.tenant, filter)
			}
		},
		id:   func(m *hookd.Message) string { return m.ID },
		view: viewMessage,
	}.serve(w, r)
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request, c *call) error {
	m, err := s.Store.GetMessage(r.Context(), c.tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewMessage(m))
	return nil
}

func (s *Server) listAttempts(w http.ResponseWriter, r *http.Request, c *call) error {
	return listing[*hookd.Attempt, attemptView]{
		filter: everything(func(ctx context.Context, p hookd.Page) ([]*hookd.Attempt, error) {
			// ENOTFOUND for a message the tenant does not have.
			return s.Store.ListAttempts(ctx, c.tenant, r.PathValue("id"), p)
		}),
		id:   func(a *hookd.Attempt) string { return a.ID },
		view: viewAttempt,
	}.serve(w, r)
}

type messageAction func(ctx context.Context, tenantID, id string, now time.Time) (*hookd.Message, error)

func (s *Server) messageAction(w http.ResponseWriter, r *http.Request, c *call, act messageAction, wake bool) error {
	if err := s.readAction(w, r); err != nil {
		return err
	}
	m, err := act(r.Context(), c.tenant, r.PathValue("id"), s.now())
	if err != nil {
		return err
	}
	if wake {
		s.wake()
	}
	writeJSON(w, http.StatusOK, viewMessage(m))
	return nil
}

func (s *Server) retryMessage(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.messageAction(w, r, c, s.Store.RetryMessage, true)
}

func (s *Server) abortMessage(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.messageAction(w, r, c, s.Store.AbortMessage, true) // may release its group
}

func (s *Server) resolveMessage(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.messageAction(w, r, c, s.Store.ResolveMessage, true)
}
