package sqlite_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hookd/hookd"
)

// FindAPIKey remembers keys (keyCache); a deleted key, or a key of a
// deleted tenant, must be refused as soon as the delete returns.
func TestFindAPIKeyAfterDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	for _, id := range []string{"a", "b"} {
		if err := db.CreateTenant(ctx, &hookd.Tenant{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	mustKey := func(tenant, hash string) *hookd.APIKey {
		t.Helper()
		k := &hookd.APIKey{TenantID: tenant, Name: "k", Scopes: []hookd.Scope{hookd.ScopeEventsWrite}, TokenHash: hash}
		if err := db.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	find := func(hash string) (*hookd.APIKey, error) {
		t.Helper()
		for range 2 { // the later ones are answered from the cache
			if _, err := db.FindAPIKey(ctx, hash); err != nil {
				return nil, err
			}
		}
		return db.FindAPIKey(ctx, hash)
	}

	ka := mustKey("a", "ha")
	mustKey("a", "ha2")
	mustKey("b", "hb")
	got, err := find("ha")
	if err != nil || got.ID != ka.ID || got.TenantID != "a" {
		t.Fatalf("FindAPIKey = %+v, %v", got, err)
	}
	// A caller changing its copy does not change the next answer.
	got.Scopes[0] = hookd.ScopeAdmin
	got.TenantID = "b"
	if again, err := db.FindAPIKey(ctx, "ha"); err != nil || again.TenantID != "a" || again.Scopes[0] != hookd.ScopeEventsWrite {
		t.Fatalf("FindAPIKey after the caller changed its copy = %+v, %v", again, err)
	}

	if err := db.DeleteAPIKey(ctx, "a", ka.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindAPIKey(ctx, "ha"); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Fatalf("FindAPIKey of a deleted key: %v, want ENOTFOUND", err)
	}
	if _, err := find("ha2"); err != nil {
		t.Fatalf("the tenant's other key: %v", err)
	}
	if _, err := find("hb"); err != nil {
		t.Fatal(err)
	}

	if err := db.DeleteTenant(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindAPIKey(ctx, "ha2"); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Fatalf("FindAPIKey of a deleted tenant's key: %v, want ENOTFOUND", err)
	}
	if _, err := db.FindAPIKey(ctx, "hb"); err != nil {
		t.Fatalf("another tenant's key: %v", err)
	}

	// A key created after a miss is found at once (misses are not kept).
	if _, err := db.FindAPIKey(ctx, "hnew"); hookd.ErrorCode(err) != hookd.ENOTFOUND {
		t.Fatalf("FindAPIKey of an unknown hash: %v", err)
	}
	mustKey("b", "hnew")
	if _, err := db.FindAPIKey(ctx, "hnew"); err != nil {
		t.Fatalf("FindAPIKey of a new key after a miss: %v", err)
	}
}

// Lookups racing with the delete of their key never put it back into the
// cache: once DeleteAPIKey returns, every lookup is refused.
func TestFindAPIKeyRacingDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	if err := db.CreateTenant(ctx, &hookd.Tenant{ID: "a", Name: "a"}); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		k := &hookd.APIKey{TenantID: "a", Name: "k", TokenHash: "h"}
		if err := db.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		var deleted atomic.Bool
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := deleted.Load()
					_, err := db.FindAPIKey(ctx, "h")
					if after && err == nil {
						t.Errorf("round %d: key found after DeleteAPIKey returned", round)
						return
					}
					if err != nil && hookd.ErrorCode(err) != hookd.ENOTFOUND {
						t.Error(err)
						return
					}
				}
			})
		}
		if err := db.DeleteAPIKey(ctx, "a", k.ID); err != nil {
			t.Fatal(err)
		}
		deleted.Store(true)
		for range 50 {
			if _, err := db.FindAPIKey(ctx, "h"); err == nil {
				t.Fatalf("round %d: key found after DeleteAPIKey returned", round)
			}
		}
		close(stop)
		wg.Wait()
	}
}
