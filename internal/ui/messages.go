package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// --- messages ---

type messagesPage struct {
	Messages []*hookd.Message
	Hooks    map[string]*hookd.Webhook
	HookList []*hookd.Webhook
	Next     hookd.Next
	Q        url.Values
	States   []string
	First    bool
	Live     string
	Filtered bool   // a filter other than the window is set
	Window   string // the time window's key (24h, …)
	Bulk     bool   // the session may act on messages: the bulk bar and row checkboxes show
}

// windows are the time ranges the messages and events pages offer.
var windows = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

// windowOf returns the query's time window (24h when absent or unknown).
func windowOf(q url.Values) string {
	win := q.Get("window")
	if _, ok := windows[win]; !ok && win != "all" {
		win = "24h"
	}
	return win
}

// messageFilter reads the messages list's filters from q (the list's query
// or the bulk form): the store's query (without a cursor or limit), the
// states asked for as given, and whether any filter but the window is set.
func messageFilter(q url.Values, now time.Time) (mq hookd.MessageQuery, states []string, filtered bool) {
	mq = hookd.MessageQuery{WebhookID: strings.TrimSpace(q.Get("webhook_id")), EventType: strings.TrimSpace(q.Get("event_type")),
		Group: strings.TrimSpace(q.Get("group"))}
	if d, ok := windows[windowOf(q)]; ok {
		mq.From = hookd.MinID(hookd.PrefixMessage, now.Add(-d))
	}
	for _, st := range q["state"] {
		if hookd.ValidState(st) && !slices.Contains(states, st) {
			states = append(states, st)
			mq.States = append(mq.States, hookd.MessageState(st))
		}
	}
	return mq, states, mq.WebhookID != "" || mq.EventType != "" || mq.Group != "" || len(states) > 0
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	if id := strings.TrimSpace(q.Get("id")); id != "" {
		http.Redirect(w, r, v.TenantURL("/messages/"+url.PathEscape(id)), http.StatusSeeOther)
		return nil
	}
	win := windowOf(q)
	q.Set("window", win)
	mq, states, filtered := messageFilter(q, v.now)
	mq.Before, mq.Limit, mq.Scan = q.Get("before"), pageSize, scanLimit
	ms, next, err := s.Store.BrowseMessages(r.Context(), v.Tenant.ID, mq)
	if err != nil {
		return err
	}
	p := messagesPage{Messages: ms, Next: next, Q: q, States: states, First: mq.Before == "", Hooks: map[string]*hookd.Webhook{},
		Filtered: filtered, Window: win, Bulk: v.Can("messages:write")}
	if v.Can("webhooks:list") {
		hooks, err := s.Store.ListWebhooks(r.Context(), hookd.WebhookFilter{TenantID: v.Tenant.ID, Page: hookd.Page{Limit: 500}})
		if err != nil {
			return err
		}
		p.HookList = hooks
		for _, wh := range hooks {
			p.Hooks[wh.ID] = wh
		}
	}
	if p.First {
		lq := cloneValues(q)
		lq.Set("fragment", "rows")
		p.Live = v.TenantURL("/messages?" + lq.Encode())
	}
	v.Title, v.Section = v.T("nav.messages"), "messages"
	if q.Get("fragment") == "rows" {
		s.renderTemplate(w, v, "messages", "rows", http.StatusOK, p)
		return nil
	}
	s.render(w, v, "messages", http.StatusOK, p)
	return nil
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		out[k] = slices.Clone(vs)
	}
	return out
}

// PageURL is the messages list with the same filters, before cursor.
func (p messagesPage) PageURL(base, before string) string {
	q := cloneValues(p.Q)
	q.Del("fragment")
	q.Del("before")
	if before != "" {
		q.Set("before", before)
	}
	return base + "?" + q.Encode()
}

// WindowURL is the messages list with the same filters over another window.
func (p messagesPage) WindowURL(base, win string) string {
	q := cloneValues(p.Q)
	q.Del("fragment")
	q.Del("before")
	q.Set("window", win)
	return base + "?" + q.Encode()
}

// FilterCount is how many filters besides the window are set.
func (p messagesPage) FilterCount() int {
	n := len(p.States)
	for _, k := range []string{"webhook_id", "event_type", "group"} {
		if strings.TrimSpace(p.Q.Get(k)) != "" {
			n++
		}
	}
	return n
}

type messagePage struct {
	M        *hookd.Message
	Event    *hookd.Event
	Webhook  *hookd.Webhook
	Attempts []*hookd.Attempt
	Live     string
	Size     int
}

// Open reports whether more attempts may come without a hand: the page
// keeps itself up to date meanwhile.
func (p messagePage) Open() bool { return !p.M.State.Terminal() }

// CanRetry, CanAbort and CanResolve are the store's rules for the manual
// operations (hookd.ManualOp), so that a button the state does not allow
// shows disabled with the reason beside it.
func (p messagePage) CanRetry() bool   { return hookd.OpRetry.Allows(p.M.State) && p.Webhook != nil }
func (p messagePage) CanAbort() bool   { return hookd.OpAbort.Allows(p.M.State) }
func (p messagePage) CanResolve() bool { return hookd.OpResolve.Allows(p.M.State) }

// WhyNotRetry and WhyNotEnd are the label keys of why a button is
// disabled ("" when it is not).
func (p messagePage) WhyNotRetry() string {
	switch {
	case p.M.State == hookd.StateSuccessful:
		return "why.retry.successful"
	case p.Webhook == nil:
		return "why.retry.nowebhook"
	}
	return ""
}

func (p messagePage) WhyNotEnd() string {
	if p.CanAbort() {
		return ""
	}
	return "why.end." + string(p.M.State)
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, v *view) error {
	m, err := s.Store.GetMessage(r.Context(), v.Tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	atts, err := s.Store.ListAttempts(r.Context(), v.Tenant.ID, m.ID, hookd.Page{Limit: 100})
	if err != nil {
		return err
	}
	p := messagePage{M: m, Attempts: atts, Live: v.TenantURL("/messages/" + m.ID + "?fragment=live")}
	if r.URL.Query().Get("fragment") == "live" {
		v.Title = m.ID
		s.renderTemplate(w, v, "message", "live", http.StatusOK, p)
		return nil
	}
	ev, err := s.Store.GetEvent(r.Context(), v.Tenant.ID, m.EventID)
	if err != nil && hookd.ErrorCode(err) != hookd.ENOTFOUND {
		return err
	}
	p.Event = ev
	if ev != nil {
		p.Size = len(ev.Payload)
	}
	if wh, err := s.Store.GetWebhook(r.Context(), v.Tenant.ID, m.WebhookID); err == nil {
		p.Webhook = wh
	} else if hookd.ErrorCode(err) != hookd.ENOTFOUND {
		return err
	}
	v.Title, v.Section = m.ID, "messages"
	s.render(w, v, "message", http.StatusOK, p)
	return nil
}

func (s *Server) messageAction(w http.ResponseWriter, r *http.Request, v *view) error {
	ops := map[string]func(ctx contextT, tenantID, id string, now time.Time) (*hookd.Message, error){
		"retry": s.Store.RetryMessage, "abort": s.Store.AbortMessage, "resolve": s.Store.ResolveMessage,
	}
	op, ok := ops[r.PathValue("op")]
	if !ok {
		return hookd.Errorf(hookd.ENOTFOUND, "no such action")
	}
	m, err := op(r.Context(), v.Tenant.ID, r.PathValue("id"), s.now())
	if err != nil {
		return err
	}
	s.wake()
	http.Redirect(w, r, v.TenantURL("/messages/"+m.ID+"?done="+r.PathValue("op")), http.StatusSeeOther)
	return nil
}

// --- bulk actions ---

// maxSelected is how many ticked rows one bulk form may carry: two pages.
const maxSelected = 2 * pageSize

// bulkKeys are the messages list's filter fields the bulk form carries.
var bulkKeys = []string{"state", "webhook_id", "event_type", "group", "window"}

type bulkPage struct {
	Op       hookd.ManualOp
	Scope    string // "selected" or "filter"
	IDs      []string
	Selected int // rows ticked
	Count    int // messages the operation applies to (up to hookd.MaxBulkMessages+1)
	Limit    int
	Q        url.Values // the list's filters, for the way back and the confirmation
	From     string     // the window's start and the moment of the preview, as ids
	AsOf     string
	Hooks    map[string]*hookd.Webhook
	Summary  []string // the filters in words
}

// More reports whether more messages match than one operation takes.
func (p bulkPage) More() bool { return p.Count > p.Limit }

// Applies is how many the operation will change: the count, capped.
func (p bulkPage) Applies() int { return min(p.Count, p.Limit) }

// BackURL is the list the form came from.
func (p bulkPage) BackURL(base string) string { return base + "?" + p.Q.Encode() }

// bulkOp reads the form's operation; EINVALID when it names none.
func bulkOp(form url.Values) (hookd.ManualOp, error) {
	op := hookd.ManualOp(form.Get("op"))
	if !slices.Contains(hookd.ManualOps, op) {
		return "", hookd.Errorf(hookd.EINVALID, "choose retry, abort or resolve")
	}
	return op, nil
}

// matchingIDs returns the ids of the tenant's messages that mq matches and
// op applies to, newest first, at most limit+1 (one more tells that there
// are more): read in keyset pages of ids (MessageIDs), without the list's
// scan bound (a bulk operation must reach every match it names).
func (s *Server) matchingIDs(r *http.Request, tenant string, mq hookd.MessageQuery, op hookd.ManualOp, limit int) ([]string, error) {
	allowed := op.States()
	if len(mq.States) == 0 {
		mq.States = allowed
	} else {
		mq.States = slices.DeleteFunc(slices.Clone(mq.States), func(st hookd.MessageState) bool { return !slices.Contains(allowed, st) })
		if len(mq.States) == 0 {
			return nil, nil
		}
	}
	mq.Limit, mq.Scan = 2500, 0
	var ids []string
	for {
		page, next, err := s.Store.MessageIDs(r.Context(), tenant, mq)
		if err != nil {
			return nil, err
		}
		for _, id := range page {
			ids = append(ids, id)
			if len(ids) > limit {
				return ids, nil
			}
		}
		if next.Before == "" {
			return ids, nil
		}
		mq.Before = next.Before
	}
}

// selectedIDs reads the ticked rows' ids (at most maxSelected, each once).
func selectedIDs(form url.Values) ([]string, error) {
	var ids []string
	for _, id := range form["id"] {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > maxSelected {
		return nil, hookd.Errorf(hookd.EINVALID, "select at most %d messages, or act on all that match the filter", maxSelected)
	}
	return ids, nil
}

// bulkPreview answers the bulk form of the messages list: how many
// messages the operation would change (of the ticked rows, or of all that
// match the filter, capped), and a form to confirm it. Nothing changes
// until that form is sent (bulkApply).
func (s *Server) bulkPreview(w http.ResponseWriter, r *http.Request, v *view) error {
	form := r.PostForm
	if form.Get("step") == "confirm" {
		return s.bulkApply(w, r, v)
	}
	op, err := bulkOp(form)
	if err != nil {
		return err
	}
	p := bulkPage{Op: op, Scope: "selected", Limit: hookd.MaxBulkMessages, Q: url.Values{}}
	for _, k := range bulkKeys {
		for _, val := range form[k] {
			p.Q.Add(k, val)
		}
	}
	p.Q.Set("window", windowOf(p.Q))
	if form.Get("scope") == "filter" {
		p.Scope = "filter"
		mq, _, _ := messageFilter(p.Q, v.now)
		// The preview's moment bounds what the confirmation applies to:
		// messages published meanwhile are not among those counted.
		p.From, p.AsOf = mq.From, hookd.MinID(hookd.PrefixMessage, v.now.Add(time.Millisecond))
		mq.Before = p.AsOf
		ids, err := s.matchingIDs(r, v.Tenant.ID, mq, op, p.Limit)
		if err != nil {
			return err
		}
		p.Count = len(ids)
		p.Summary = s.filterSummary(r, v, p.Q)
	} else {
		if p.IDs, err = selectedIDs(form); err != nil {
			return err
		}
		p.Selected = len(p.IDs)
		for _, id := range p.IDs {
			m, err := s.Store.GetMessage(r.Context(), v.Tenant.ID, id)
			if hookd.ErrorCode(err) == hookd.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			if op.Allows(m.State) {
				p.Count++
			}
		}
	}
	v.Title, v.Section = v.T("bulk.title."+string(op)), "messages"
	s.render(w, v, "bulk", http.StatusOK, p)
	return nil
}

// bulkApply does what the confirmed preview said, in transactions of
// hookd.BulkBatch messages, and returns to the list with what it did.
func (s *Server) bulkApply(w http.ResponseWriter, r *http.Request, v *view) error {
	form := r.PostForm
	op, err := bulkOp(form)
	if err != nil {
		return err
	}
	back := url.Values{}
	for _, k := range bulkKeys {
		for _, val := range form[k] {
			back.Add(k, val)
		}
	}
	var ids []string
	if form.Get("scope") == "filter" {
		mq, _, _ := messageFilter(back, v.now)
		mq.From, mq.Before = idBound(form.Get("from")), idBound(form.Get("asof"))
		if mq.Before == "" {
			return hookd.Errorf(hookd.EINVALID, "the confirmation lacks its moment; start again from the list")
		}
		if ids, err = s.matchingIDs(r, v.Tenant.ID, mq, op, hookd.MaxBulkMessages); err != nil {
			return err
		}
		if len(ids) > hookd.MaxBulkMessages {
			ids = ids[:hookd.MaxBulkMessages]
		}
	} else if ids, err = selectedIDs(form); err != nil {
		return err
	}
	var res hookd.BulkResult
	for chunk := range slices.Chunk(ids, hookd.BulkBatch) {
		n, err := s.Store.ApplyToMessages(r.Context(), v.Tenant.ID, op, chunk, s.now())
		if err != nil {
			return err
		}
		res.Add(n)
	}
	if res.Done > 0 {
		s.wake()
	}
	back.Set("done", "bulk_"+string(op))
	back.Set("n", strconv.Itoa(res.Done))
	back.Set("k", strconv.Itoa(res.Skipped+res.NotFound))
	http.Redirect(w, r, v.TenantURL("/messages?"+back.Encode()), http.StatusSeeOther)
	return nil
}

// idBound keeps a form's id bound only if it looks like a message id (it
// is a bound of a query's range, nothing more).
func idBound(id string) string {
	if _, ok := hookd.IDTime(id); ok && strings.HasPrefix(id, hookd.PrefixMessage+"_") {
		return id
	}
	return ""
}

// filterSummary says the list's filters in words, for the confirmation.
func (s *Server) filterSummary(r *http.Request, v *view, q url.Values) []string {
	var out []string
	if sts := q["state"]; len(sts) > 0 {
		var names []string
		for _, st := range sts {
			if hookd.ValidState(st) {
				names = append(names, v.State(hookd.MessageState(st)))
			}
		}
		out = append(out, v.T("messages.state")+": "+strings.Join(names, ", "))
	}
	if id := q.Get("webhook_id"); id != "" {
		name := id
		if wh, err := s.Store.GetWebhook(r.Context(), v.Tenant.ID, id); err == nil && wh.Name != "" {
			name = wh.Name
		}
		out = append(out, v.T("messages.webhook")+": "+name)
	}
	if t := strings.TrimSpace(q.Get("event_type")); t != "" {
		out = append(out, v.T("messages.type")+": "+t)
	}
	if g := strings.TrimSpace(q.Get("group")); g != "" {
		out = append(out, v.T("messages.group")+": "+g)
	}
	out = append(out, v.T("messages.window")+": "+v.T("window."+windowOf(q)))
	return out
}
