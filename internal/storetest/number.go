package storetest

import (
	"slices"
	"sync"
	"testing"

	"github.com/hookd/hookd"
)

// Numbers are 1, 2, 3, … per tenant in order of creation, unique, kept by
// updates and never given out again after a delete; GetWebhookByNumber
// finds a webhook of its tenant only.
func testWebhookNumbers(t *testing.T, s hookd.Store) {
	mustTenant(t, s, "a")
	mustTenant(t, s, "b")
	var a []*hookd.Webhook
	for i := range 3 {
		a = append(a, mustWebhook(t, s, "a", url(i)))
	}
	b := mustWebhook(t, s, "b", url(0)) // numbered in its own tenant
	for i, w := range a {
		if w.Number != int64(i+1) {
			t.Fatalf("webhook %d of tenant a has number %d, want %d", i, w.Number, i+1)
		}
	}
	if b.Number != 1 {
		t.Fatalf("tenant b's first webhook has number %d, want 1", b.Number)
	}
	for _, w := range append(slices.Clone(a), b) {
		got, err := s.GetWebhookByNumber(ctx, w.TenantID, w.Number)
		must(t, err)
		if got.ID != w.ID || got.Number != w.Number {
			t.Fatalf("GetWebhookByNumber(%s, %d) = %s number %d, want %s", w.TenantID, w.Number, got.ID, got.Number, w.ID)
		}
		if got, err := s.GetWebhook(ctx, w.TenantID, w.ID); err != nil || got.Number != w.Number {
			t.Fatalf("GetWebhook(%s) number = %v, %v; want %d", w.ID, got, err, w.Number)
		}
	}
	for _, n := range []int64{0, 4, -1} {
		_, err := s.GetWebhookByNumber(ctx, "a", n)
		wantCode(t, err, hookd.ENOTFOUND)
	}
	_, err := s.GetWebhookByNumber(ctx, "nope", 1)
	wantCode(t, err, hookd.ENOTFOUND)
	// b's number 1 exists, a's number 2 does not exist in b.
	_, err = s.GetWebhookByNumber(ctx, "b", 2)
	wantCode(t, err, hookd.ENOTFOUND)

	// An update keeps the number whatever the caller's struct says.
	upd := *a[1]
	upd.Number, upd.Name = 99, "renamed"
	must(t, s.UpdateWebhook(ctx, &upd))
	if upd.Number != 2 {
		t.Fatalf("number after update = %d, want 2", upd.Number)
	}
	if _, err := s.GetWebhookByNumber(ctx, "a", 99); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Fatalf("GetWebhookByNumber(99) after an update asking for it: %v", err)
	}

	// Deleting the newest and another: their numbers are not given out
	// again, and the others keep theirs.
	must(t, s.DeleteWebhook(ctx, "a", a[2].ID))
	must(t, s.DeleteWebhook(ctx, "a", a[0].ID))
	_, err = s.GetWebhookByNumber(ctx, "a", 3)
	wantCode(t, err, hookd.ENOTFOUND)
	next := mustWebhook(t, s, "a", url(10))
	if next.Number != 4 {
		t.Fatalf("number after deleting numbers 1 and 3 = %d, want 4", next.Number)
	}
	if got, err := s.GetWebhookByNumber(ctx, "a", 2); err != nil || got.ID != a[1].ID {
		t.Fatalf("number 2 after the deletes = %v, %v; want %s", got, err, a[1].ID)
	}
	// A create that fails (duplicate) spends no number.
	dup := hookd.NewWebhookDefaults()
	dup.TenantID, dup.Name, dup.URL, dup.EventTypes = "a", "dup", url(10), []string{"*"}
	wantCode(t, s.CreateWebhook(ctx, dup), hookd.ECONFLICT)
	if w := mustWebhook(t, s, "a", url(11)); w.Number != 5 {
		t.Fatalf("number after a refused create = %d, want 5", w.Number)
	}
	// Listing shows the numbers too.
	list, err := s.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "a"})
	must(t, err)
	var nums []int64
	for _, w := range list {
		nums = append(nums, w.Number)
	}
	if !slices.Equal(nums, []int64{2, 4, 5}) {
		t.Fatalf("listed numbers = %v, want [2 4 5]", nums)
	}
}

// Concurrent creates in two tenants get distinct numbers, 1..n in each
// tenant without a gap, in the order of their ids (their commit order).
func testWebhookNumbersConcurrent(t *testing.T, s hookd.Store) {
	const perTenant = 20
	tenants := []string{"a", "b"}
	for _, id := range tenants {
		mustTenant(t, s, id)
	}
	var mu sync.Mutex
	made := map[string][]*hookd.Webhook{}
	var wg sync.WaitGroup
	errs := make(chan error, perTenant*len(tenants))
	for i := range perTenant {
		for _, tenant := range tenants {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := hookd.NewWebhookDefaults()
				w.TenantID, w.Name, w.URL, w.EventTypes = tenant, "hook", url(i), []string{"*"}
				if err := s.CreateWebhook(ctx, w); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				made[tenant] = append(made[tenant], w)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, tenant := range tenants {
		ws := made[tenant]
		slices.SortFunc(ws, func(x, y *hookd.Webhook) int { return int(x.Number - y.Number) })
		for i, w := range ws {
			if w.Number != int64(i+1) {
				t.Fatalf("tenant %s: number %d at place %d of %d, want 1..%d without gaps", tenant, w.Number, i+1, len(ws), perTenant)
			}
			if i > 0 && ws[i-1].ID >= w.ID {
				t.Fatalf("tenant %s: number %d has id %s, not after number %d's %s", tenant, w.Number, w.ID, i, ws[i-1].ID)
			}
			got, err := s.GetWebhookByNumber(ctx, tenant, w.Number)
			must(t, err)
			if got.ID != w.ID {
				t.Fatalf("tenant %s number %d is %s, create said %s", tenant, w.Number, got.ID, w.ID)
			}
		}
	}
}
