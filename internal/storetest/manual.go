package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testManualOps(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1))
	m := publishIDs(t, s, w, T0, "", "", "", "")
	ds := wantClaim(t, s, T0, m...)
	complete(t, s, T0, success(ds[m[0]], T0), failHard(ds[m[1]], T0), failure(ds[m[2]], T0, at(time.Hour)))
	// m[3] stays created (leased).

	retry := func(id string) (*hookd.Message, error) { return s.RetryMessage(ctx, "a", id, at(time.Minute)) }
	abort := func(id string) (*hookd.Message, error) { return s.AbortMessage(ctx, "a", id, at(time.Minute)) }
	resolve := func(id string) (*hookd.Message, error) { return s.ResolveMessage(ctx, "a", id, at(time.Minute)) }

	// 409s: a successful message can be neither retried, aborted nor resolved.
	for name, op := range map[string]func(string) (*hookd.Message, error){"retry": retry, "abort": abort, "resolve": resolve} {
		_, err := op(m[0])
		wantCode(t, err, hookd.ECONFLICT)
		_, err = op("msg_missing")
		if hookd.ErrorCode(err) != hookd.ENOTFOUND {
			t.Errorf("%s of a missing message: %v", name, err)
		}
	}
	wantState(t, s, "a", m[0], successful)

	// Retry of a failed message: a fresh budget, due now, manual trigger.
	got, err := retry(m[1])
	must(t, err)
	if got.State != retrying || got.Tries != 0 || got.AttemptCount != 1 || !got.NextAttemptAt.Equal(at(time.Minute)) ||
		!got.UpdatedAt.Equal(at(time.Minute)) {
		t.Fatalf("retried failed message = %+v", got)
	}
	// Retry of a retrying message moves its next attempt to now.
	if got, err = retry(m[2]); err != nil || got.State != retrying || !got.NextAttemptAt.Equal(at(time.Minute)) {
		t.Fatalf("retried retrying message = %+v, %v", got, err)
	}
	// Retry of a leased created message takes its lease: the in-flight
	// outcome is recorded but stale.
	if got, err = retry(m[3]); err != nil || got.State != created {
		t.Fatalf("retried created message = %+v, %v", got, err)
	}
	complete(t, s, at(time.Minute), success(ds[m[3]], at(time.Minute)))
	wantState(t, s, "a", m[3], created)
	ds = wantClaim(t, s, at(time.Minute), m[1], m[2], m[3])
	for _, id := range []string{m[1], m[2], m[3]} {
		if ds[id].Trigger != hookd.TriggerManual {
			t.Errorf("retried %s claimed with trigger %s", id, ds[id].Trigger)
		}
	}
	complete(t, s, at(time.Minute), success(ds[m[1]], at(time.Minute)))
	atts, err := s.ListAttempts(ctx, "a", m[1], hookd.Page{})
	must(t, err)
	if len(atts) != 2 || atts[1].Trigger != hookd.TriggerManual || atts[1].Number != 2 {
		t.Fatalf("attempts after a manual retry = %+v", atts)
	}

	// Abort and resolve from each allowed state; the ended states are 409
	// for both, but may be retried.
	if got, err = abort(m[2]); err != nil || got.State != aborted || got.NextAttemptAt != nil {
		t.Fatalf("aborted retrying message = %+v, %v", got, err)
	}
	if got, err = resolve(m[3]); err != nil || got.State != resolved {
		t.Fatalf("resolved created message = %+v, %v", got, err)
	}
	wantClaim(t, s, at(time.Hour)) // neither is claimable, leases or not
	for _, id := range []string{m[2], m[3]} {
		_, err = abort(id)
		wantCode(t, err, hookd.ECONFLICT)
		_, err = resolve(id)
		wantCode(t, err, hookd.ECONFLICT)
	}
	if got, err = retry(m[2]); err != nil || got.State != retrying {
		t.Fatalf("retried aborted message (attempted before) = %+v, %v", got, err)
	}
	// m[3]'s stale attempt counts: it comes back retrying.
	if got, err = retry(m[3]); err != nil || got.State != retrying || got.AttemptCount != 1 {
		t.Fatalf("retried resolved message = %+v, %v", got, err)
	}
	// Failed and pending messages can be ended too.
	p := publishIDs(t, s, w, at(time.Hour), "", "")
	ds = wantClaim(t, s, at(time.Hour), m[2], m[3], p[0], p[1])
	complete(t, s, at(time.Hour), failHard(ds[p[0]], at(time.Hour)))
	if got, err = resolve(p[0]); err != nil || got.State != resolved {
		t.Fatalf("resolved failed message = %+v, %v", got, err)
	}
	if got, err = abort(m[2]); err != nil || got.State != aborted {
		t.Fatalf("aborted retried message = %+v, %v", got, err)
	}
	_, err = s.SetSuspended(ctx, "a", w.ID, true, at(time.Hour))
	must(t, err)
	wantState(t, s, "a", p[1], pending)
	if got, err = abort(p[1]); err != nil || got.State != aborted {
		t.Fatalf("aborted pending message = %+v, %v", got, err)
	}
	// Retry while the webhook is suspended holds the message.
	if got, err = retry(p[0]); err != nil || got.State != pending {
		t.Fatalf("retry under suspension = %+v, %v", got, err)
	}
	_, err = s.SetSuspended(ctx, "a", w.ID, false, at(2*time.Hour))
	must(t, err)
	ds = wantClaim(t, s, at(2*time.Hour), p[0], m[3])
	if ds[p[0]].Trigger != hookd.TriggerManual {
		t.Fatalf("held manual retry claimed with trigger %s", ds[p[0]].Trigger)
	}
}

func testRecover(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), grouped(false), types("x"))
	other := mustWebhook(t, s, "a", url(2), types("y"))
	var m []string
	for i := range 4 {
		now := at(time.Duration(i) * time.Hour)
		m = append(m, publishIDs(t, s, w, now, "")...)
		deliverOne(t, s, now, m[i], failHard)
	}
	// A group whose failed head blocks the second message.
	g := publishIDs(t, s, w, at(90*time.Minute), "g", "g")
	deliverOne(t, s, at(4*time.Hour), g[0], failHard)
	wantState(t, s, "a", g[1], pending)
	// The other webhook's failed message is not touched.
	r := mustPublish(t, s, "a", at(2*time.Hour), ev("y", ""))
	m2 := messageOf(t, s, "a", other.ID, r[0].EventID).ID
	deliverOne(t, s, at(4*time.Hour), m2, failHard)

	n, err := s.RecoverMessages(ctx, "a", w.ID, at(time.Hour), at(3*time.Hour), at(5*time.Hour))
	must(t, err)
	if n != 3 {
		t.Fatalf("recovered %d, want 3 (two of four, and the group head)", n)
	}
	wantStates(t, s, "a", w.ID, failed, retrying, retrying, failed, retrying, pending)
	wantState(t, s, "a", m2, failed)
	ds := wantClaim(t, s, at(5*time.Hour), m[1], m[2], g[0])
	for _, d := range ds {
		if d.Trigger != hookd.TriggerManual || d.Message.Tries != 0 {
			t.Fatalf("recovered delivery = %+v", d.Message)
		}
	}
	complete(t, s, at(5*time.Hour), success(ds[g[0]], at(5*time.Hour)))
	wantState(t, s, "a", g[1], created)
	// A zero until has no upper bound.
	if n, err := s.RecoverMessages(ctx, "a", w.ID, T0, time.Time{}, at(6*time.Hour)); err != nil || n != 2 {
		t.Fatalf("recover without until = %d, %v; want 2", n, err)
	}
	_, err = s.RecoverMessages(ctx, "a", "wh_missing", T0, at(time.Hour), T0)
	wantCode(t, err, hookd.ENOTFOUND)
}

// testRecoverSkipsTestMessages: a failed test message is not re-queued by
// RecoverMessages; a test call is made once and never retried.
func testRecoverSkipsTestMessages(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), types("x"))
	m := publishIDs(t, s, w, T0, "")
	deliverOne(t, s, T0, m[0], failHard)
	d, err := s.CreateTestMessage(ctx, "a", w.ID, ev("webhook.test", ""), at(time.Minute))
	must(t, err)
	complete(t, s, at(time.Minute), failHard(d, at(time.Minute)))
	wantState(t, s, "a", d.Message.ID, failed)

	n, err := s.RecoverMessages(ctx, "a", w.ID, T0, time.Time{}, at(time.Hour))
	must(t, err)
	if n != 1 {
		t.Fatalf("recovered %d, want 1 (the published message, not the test message)", n)
	}
	wantState(t, s, "a", m[0], retrying)
	wantState(t, s, "a", d.Message.ID, failed)
	wantClaim(t, s, at(time.Hour), m[0])
}

func testDeleteWebhook(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), grouped(false))
	m := publishIDs(t, s, w, T0, "", "", "", "g", "g")
	ds := wantClaim(t, s, T0, m[0], m[1], m[2], m[3])
	complete(t, s, T0, success(ds[m[0]], T0), failHard(ds[m[1]], T0), failure(ds[m[2]], T0, at(time.Hour)))
	wantStates(t, s, "a", w.ID, successful, failed, retrying, created, pending)
	must(t, s.DeleteWebhook(ctx, "a", w.ID))
	wantStates(t, s, "a", w.ID, successful, failed, aborted, aborted, aborted)
	wantClaim(t, s, at(48*time.Hour))
	// The in-flight outcome is recorded, nothing more.
	complete(t, s, at(time.Second), success(ds[m[3]], at(time.Second)))
	wantState(t, s, "a", m[3], aborted)
	atts, err := s.ListAttempts(ctx, "a", m[3], hookd.Page{})
	must(t, err)
	if len(atts) != 1 {
		t.Fatalf("attempts of a message of a deleted webhook: %d", len(atts))
	}
	// Its messages cannot be retried any more; failed ones can be resolved.
	_, err = s.RetryMessage(ctx, "a", m[1], at(time.Minute))
	wantCode(t, err, hookd.ECONFLICT)
	if got, err := s.ResolveMessage(ctx, "a", m[1], at(time.Minute)); err != nil || got.State != resolved {
		t.Fatalf("resolve after delete = %+v, %v", got, err)
	}
}

func testTestMessage(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), func(w *hookd.Webhook) { w.Enabled = false })
	in := ev("webhook.test", "")
	d, err := s.CreateTestMessage(ctx, "a", w.ID, in, T0)
	must(t, err)
	if d.Trigger != hookd.TriggerTest || d.Lease == 0 || d.Message.State != created || d.Message.WebhookID != w.ID ||
		d.Event.Type != "webhook.test" || d.Event.ID != d.Message.EventID || d.Webhook.ID != w.ID || len(d.Webhook.Secrets) != 1 {
		t.Fatalf("test delivery = %+v", d)
	}
	wantClaim(t, s, at(48*time.Hour))
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Fatalf("NextDue with a test message = %v, %v", ok, err)
	}
	o := success(d, T0)
	complete(t, s, T0, o)
	wantState(t, s, "a", d.Message.ID, successful)
	atts, err := s.ListAttempts(ctx, "a", d.Message.ID, hookd.Page{})
	must(t, err)
	if len(atts) != 1 || atts[0].Trigger != hookd.TriggerTest || !atts[0].Success {
		t.Fatalf("test attempts = %+v", atts)
	}
	_, err = s.CreateTestMessage(ctx, "a", "wh_missing", in, T0)
	wantCode(t, err, hookd.ENOTFOUND)
}

func testSweep(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	w := mustWebhook(t, s, "a", url(1), types("x"))
	keyed := ev("x", "")
	keyed.IdempotencyKey = "k"
	old := mustPublish(t, s, "a", T0, keyed, ev("x", ""), ev("x", ""), ev("x", ""))
	m := make([]string, len(old))
	for i, r := range old {
		m[i] = messageOf(t, s, "a", w.ID, r.EventID).ID
	}
	ds := wantClaim(t, s, T0, m...)
	complete(t, s, T0, success(ds[m[0]], T0), failHard(ds[m[1]], T0), failure(ds[m[2]], T0, at(time.Hour)),
		success(ds[m[3]], at(time.Second)))
	// A recent terminal message is kept even though its event is old.
	young := at(10 * 24 * time.Hour)
	complete(t, s, young, success(wantClaim(t, s, at(time.Hour), m[2])[m[2]], young))
	// An event without any message.
	lonely := mustPublish(t, s, "a", at(time.Minute), ev("nobody", ""))
	must(t, s.DeleteWebhook(ctx, "a", w.ID))
	// The rest is recent.
	w2 := mustWebhook(t, s, "a", url(2))
	recent := publishIDs(t, s, w2, at(9*24*time.Hour), "")

	cutoff := at(5 * 24 * time.Hour)
	now := at(30 * 24 * time.Hour)
	// limit 1: one message per call.
	n, err := s.Sweep(ctx, cutoff, 1, now)
	must(t, err)
	if n < 2 {
		t.Fatalf("first sweep deleted %d rows, want at least a message and its attempt", n)
	}
	total := n
	for {
		n, err := s.Sweep(ctx, cutoff, 1, now)
		must(t, err)
		if n == 0 {
			break
		}
		total += n
	}
	// m[0], m[1], m[3] with their attempts (1 each), their events and the
	// lonely event, the idempotency key, and the operational events the
	// outcomes at T0 published (no webhook takes them): m[1]'s failure
	// began the streak and failed for good, m[3]'s success ended it.
	want := 3 + 3 + 3 + 1 + 1 + 3
	if _, ok := s.(hookd.StatsStore); ok {
		want += 2 // the delivery statistics of T0's and young's buckets
	}
	if total != want {
		t.Fatalf("sweep deleted %d rows, want %d", total, want)
	}
	for _, id := range []string{m[0], m[1], m[3]} {
		_, err := s.GetMessage(ctx, "a", id)
		wantCode(t, err, hookd.ENOTFOUND)
	}
	for _, r := range []hookd.PublishResult{old[0], old[1], old[3], lonely[0]} {
		_, err := s.GetEvent(ctx, "a", r.EventID)
		wantCode(t, err, hookd.ENOTFOUND)
	}
	wantState(t, s, "a", m[2], successful)
	if _, err := s.GetEvent(ctx, "a", old[2].EventID); err != nil {
		t.Fatalf("event of a kept message: %v", err)
	}
	wantState(t, s, "a", recent[0], created)
	// The idempotency key is gone: the same key makes a new event.
	if r := mustPublish(t, s, "a", now, keyed); r[0].Duplicate {
		t.Fatalf("key survived the sweep: %+v", r)
	}
	if n, err := s.Sweep(ctx, cutoff, 0, now); err != nil || n != 0 {
		t.Fatalf("sweep with limit 0 = %d, %v", n, err)
	}
}
