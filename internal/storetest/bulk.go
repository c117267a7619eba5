package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func bulkStore(t *testing.T, s hookd.Store) hookd.BulkMessageStore {
	t.Helper()
	bs, ok := s.(hookd.BulkMessageStore)
	if !ok {
		t.Skip("the store has no bulk operations")
	}
	return bs
}

// ApplyToMessages does to each message what the single operation would,
// skips the ones whose state does not allow it, never touches another
// tenant's, and keeps a group's order when several of it are retried.
func testApplyToMessages(t *testing.T, s hookd.Store) {
	bs := bulkStore(t, s)
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	w := mustWebhook(t, s, "a", url(1), grouped(false))
	theirs := mustWebhook(t, s, "b", url(1))
	// m[0] heads group g and fails (m[1] stays held behind it), m[2]
	// succeeds, m[3] fails in group h.
	m := publishIDs(t, s, w, T0, "g", "g", "", "h")
	ds := wantClaim(t, s, T0, m[0], m[2], m[3])
	complete(t, s, T0, failHard(ds[m[0]], T0), success(ds[m[2]], T0), failHard(ds[m[3]], T0))
	wantStates(t, s, "a", w.ID, failed, pending, successful, failed)
	other := publishIDs(t, s, theirs, T0, "")

	_, err := bs.ApplyToMessages(ctx, "a", hookd.ManualOp("delete"), m, T0)
	wantCode(t, err, hookd.EINVALID)

	// Retry: the failed ones (and the held m[1], whose state allows it),
	// not the successful one, not b's, an unknown id not found; given
	// out of order and one twice.
	res, err := bs.ApplyToMessages(ctx, "a", hookd.OpRetry, []string{m[3], m[2], m[1], m[0], other[0], "msg_nope", m[0]}, at(time.Minute))
	must(t, err)
	if res != (hookd.BulkResult{Done: 3, Skipped: 1, NotFound: 2}) {
		t.Fatalf("bulk retry = %+v, want 3 done, 1 skipped, 2 not found", res)
	}
	// In publish order: m[0] heads its group again, m[1] waits behind it.
	wantStates(t, s, "a", w.ID, retrying, pending, successful, retrying)
	wantState(t, s, "b", other[0], created)
	got := wantState(t, s, "a", m[0], retrying)
	if got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(at(time.Minute)) {
		t.Fatalf("retried message due at %v, want %v", got.NextAttemptAt, at(time.Minute))
	}

	// Resolve: m[0] ends and releases m[1]; the successful one is skipped.
	res, err = bs.ApplyToMessages(ctx, "a", hookd.OpResolve, []string{m[0], m[2]}, at(2*time.Minute))
	must(t, err)
	if res != (hookd.BulkResult{Done: 1, Skipped: 1}) {
		t.Fatalf("bulk resolve = %+v", res)
	}
	wantStates(t, s, "a", w.ID, resolved, created, successful, retrying)

	// Abort the rest; a second abort skips them all.
	res, err = bs.ApplyToMessages(ctx, "a", hookd.OpAbort, m, at(3*time.Minute))
	must(t, err)
	if res != (hookd.BulkResult{Done: 2, Skipped: 2}) {
		t.Fatalf("bulk abort = %+v", res)
	}
	wantStates(t, s, "a", w.ID, resolved, aborted, successful, aborted)
	res, err = bs.ApplyToMessages(ctx, "a", hookd.OpAbort, m, at(3*time.Minute))
	must(t, err)
	if res != (hookd.BulkResult{Skipped: 4}) {
		t.Fatalf("second bulk abort = %+v", res)
	}

	// A retry of a message whose webhook was deleted is skipped.
	gone := mustWebhook(t, s, "a", url(2))
	g := publishIDs(t, s, gone, at(4*time.Minute), "")
	must(t, s.DeleteWebhook(ctx, "a", gone.ID))
	res, err = bs.ApplyToMessages(ctx, "a", hookd.OpRetry, g, at(5*time.Minute))
	must(t, err)
	if res != (hookd.BulkResult{Skipped: 1}) {
		t.Fatalf("bulk retry of a deleted webhook's message = %+v", res)
	}
	// MessageIDs reads what BrowseMessages reads, ids alone, page by page.
	st := statsStore(t, s)
	for _, q := range []hookd.MessageQuery{{Limit: 2}, {Limit: 10, States: []hookd.MessageState{hookd.StateAborted}},
		{Limit: 10, WebhookID: w.ID, States: []hookd.MessageState{hookd.StateResolved, hookd.StateAborted}}, {Limit: 10, EventType: "nope"}} {
		for {
			ms, next, err := st.BrowseMessages(ctx, "a", q)
			must(t, err)
			got, gotNext, err := bs.MessageIDs(ctx, "a", q)
			must(t, err)
			if want := ids(ms, func(m *hookd.Message) string { return m.ID }); !slices.Equal(got, want) || gotNext != next {
				t.Fatalf("MessageIDs(%+v) = %v %+v, want %v %+v", q, got, gotNext, want, next)
			}
			if slices.Contains(got, other[0]) {
				t.Fatalf("MessageIDs(%+v) of tenant a has b's message %s", q, other[0])
			}
			if next.Before == "" {
				break
			}
			q.Before = next.Before
		}
	}

	// Nothing at all is no error.
	if res, err := bs.ApplyToMessages(ctx, "a", hookd.OpRetry, nil, T0); err != nil || res != (hookd.BulkResult{}) {
		t.Fatalf("empty bulk = %+v, %v", res, err)
	}
}
