package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/seal"
)

// SealingDB is one database of a SQL store for ExerciseSealing.
type SealingDB struct {
	// Open opens a store on the database with keys (nil: none). The test
	// closes it.
	Open func(keys *seal.Keyring) (SealingStore, error)
	// Raw is the database beneath the store, to read and write the
	// columns as stored.
	Raw *sql.DB
}

// SealingStore is a store that seals webhook secrets (sqlstore's stores).
type SealingStore interface {
	hookd.Store
	// Rekey rewrites every secret under the current key, batch webhooks
	// per transaction, and returns how many webhooks it rewrote.
	Rekey(ctx context.Context, batch int) (int, error)
}

// Secret values of ExerciseSealing, distinctive so that a search for them
// in the database's bytes finds nothing else.
const (
	SealedSecret   = "whsec_U0VBTEVEc2lnbmluZ3NlY3JldDAx"
	SealedRotated  = "whsec_U0VBTEVEcm90YXRlZHNlY3JldDAy"
	SealedPassword = "sealed-basic-password-9f2c"
	SealedToken    = "sealed-bearer-token-4e7a"
)

// SealingKeys returns two distinct keys for the tests.
func SealingKeys(t *testing.T) (a, b *seal.Key) {
	t.Helper()
	a, err := seal.NewKey(bytes.Repeat([]byte{0xaa}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	b, err = seal.NewKey(bytes.Repeat([]byte{0xbb}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// Keyring returns a keyring of current and previous.
func Keyring(t *testing.T, current *seal.Key, previous ...*seal.Key) *seal.Keyring {
	t.Helper()
	r, err := seal.NewKeyring(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ExerciseSealing checks that a store keeps webhook secrets and auth
// credentials sealed at rest: each case gets a fresh database from fresh.
func ExerciseSealing(t *testing.T, fresh func(t *testing.T) SealingDB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, db SealingDB)
	}{
		{"RoundTrip", testSealRoundTrip},
		{"SealAtStart", testSealAtStart},
		{"Rekey", testRekey},
		{"BoundToRow", testSealBoundToRow},
		{"WithoutKey", testSealWithoutKey},
		{"KeyCheck", testKeyCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, fresh(t))
		})
	}
}

func openSealing(t *testing.T, db SealingDB, keys *seal.Keyring) SealingStore {
	t.Helper()
	s, err := db.Open(keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawColumns returns a webhook's auth and secrets as stored.
func rawColumns(t *testing.T, raw *sql.DB, id string) (auth, secrets string) {
	t.Helper()
	// The id is the store's own (letters, digits, '_'): quoting it keeps
	// the query the same in both SQL dialects.
	if err := raw.QueryRow("SELECT auth, secrets FROM webhooks WHERE id = '"+id+"'").Scan(&auth, &secrets); err != nil {
		t.Fatal(err)
	}
	return auth, secrets
}

// wantSealed fails unless both of the webhook's secret columns are sealed
// under key and show none of the secret values.
func wantSealed(t *testing.T, raw *sql.DB, id string, key *seal.Key) {
	t.Helper()
	auth, secrets := rawColumns(t, raw, id)
	for _, v := range []string{auth, secrets} {
		if kid, ok := seal.KeyIDOf(v); !ok || kid != key.ID() {
			t.Fatalf("webhook %s stores %q, want it sealed under key %s", id, v, key.ID())
		}
		for _, secret := range []string{SealedSecret, SealedRotated, SealedPassword, SealedToken, "basic", "bearer"} {
			if strings.Contains(v, secret) {
				t.Fatalf("webhook %s stores %q in the clear: %q", id, secret, v)
			}
		}
	}
}

// sealedWebhook creates a webhook with a signing secret and Basic auth
// (bearer: Bearer auth).
func sealedWebhook(t *testing.T, s hookd.Store, i int, bearer bool) *hookd.Webhook {
	t.Helper()
	return mustWebhook(t, s, "a", url(i), func(w *hookd.Webhook) {
		w.Secrets = []hookd.Secret{{Value: SealedSecret, CreatedAt: T0}}
		w.Auth = &hookd.Auth{Type: hookd.AuthBasic, Username: "user", Password: SealedPassword}
		if bearer {
			w.Auth = &hookd.Auth{Type: hookd.AuthBearer, Token: SealedToken}
		}
	})
}

// wantPlain fails unless the webhook as read has the values
// sealedWebhook gave it.
func wantPlain(t *testing.T, w *hookd.Webhook, bearer bool) {
	t.Helper()
	want := hookd.Auth{Type: hookd.AuthBasic, Username: "user", Password: SealedPassword}
	if bearer {
		want = hookd.Auth{Type: hookd.AuthBearer, Token: SealedToken}
	}
	if w.Auth == nil || *w.Auth != want || len(w.Secrets) == 0 || w.Secrets[len(w.Secrets)-1].Value != SealedSecret {
		t.Fatalf("webhook %s read as auth %+v, secrets %+v; want %+v and %s", w.ID, w.Auth, w.Secrets, want, SealedSecret)
	}
}

// testSealRoundTrip: every path that writes or reads a webhook's secrets
// gives them back in plain text, while the database holds them sealed.
func testSealRoundTrip(t *testing.T, db SealingDB) {
	a, _ := SealingKeys(t)
	s := openSealing(t, db, Keyring(t, a))
	mustTenant(t, s, "a")
	basic := sealedWebhook(t, s, 1, false)
	bearer := sealedWebhook(t, s, 2, true)
	wantSealed(t, db.Raw, basic.ID, a)
	wantSealed(t, db.Raw, bearer.ID, a)
	got, err := s.GetWebhook(ctx, "a", basic.ID)
	must(t, err)
	wantPlain(t, got, false)
	list, err := s.ListWebhooks(ctx, hookd.WebhookFilter{TenantID: "a"})
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("listed %d webhooks", len(list))
	}
	wantPlain(t, list[0], false)
	wantPlain(t, list[1], true)

	// Claim (and the handoff of a store that has one) reads them.
	mustPublish(t, s, "a", T0, ev("x", ""))
	ds := claim(t, s, T0, 10)
	if len(ds) != 2 {
		t.Fatalf("claimed %d deliveries, want one per webhook", len(ds))
	}
	for _, d := range ds {
		wantPlain(t, &d.Webhook, d.Webhook.ID == bearer.ID)
	}
	td, err := s.CreateTestMessage(ctx, "a", bearer.ID, ev("webhook.test", ""), T0)
	must(t, err)
	wantPlain(t, &td.Webhook, true)

	// Writes seal again: an update keeping the secrets, one changing the
	// auth, a rotation.
	got.Name = "renamed"
	got.Secrets = nil
	must(t, s.UpdateWebhook(ctx, got))
	wantPlain(t, got, false)
	wantSealed(t, db.Raw, basic.ID, a)
	got.Auth = &hookd.Auth{Type: hookd.AuthBearer, Token: SealedToken}
	must(t, s.UpdateWebhook(ctx, got))
	wantPlain(t, got, true)
	wantSealed(t, db.Raw, basic.ID, a)
	exp := T0.Add(time.Hour)
	must(t, s.SetSecrets(ctx, "a", basic.ID, []hookd.Secret{{Value: SealedRotated, CreatedAt: T0},
		{Value: SealedSecret, CreatedAt: T0, ExpiresAt: &exp}}))
	wantSealed(t, db.Raw, basic.ID, a)
	got, err = s.GetWebhook(ctx, "a", basic.ID)
	must(t, err)
	if len(got.Secrets) != 2 || got.Secrets[0].Value != SealedRotated || got.Secrets[1].Value != SealedSecret {
		t.Fatalf("rotated secrets read as %+v", got.Secrets)
	}
	// A webhook without auth keeps a plain null: nothing secret in it.
	none := mustWebhook(t, s, "a", url(3))
	if auth, _ := rawColumns(t, db.Raw, none.ID); auth != "null" {
		t.Fatalf("auth of a webhook without auth stored as %q", auth)
	}
	if got, err := s.GetWebhook(ctx, "a", none.ID); err != nil || got.Auth != nil {
		t.Fatalf("webhook without auth read as %+v, %v", got, err)
	}
}

// testSealAtStart: rows written in plain text (by a store without keys,
// as hookd wrote them before it sealed secrets) are sealed when a store
// with keys opens the database.
func testSealAtStart(t *testing.T, db SealingDB) {
	a, _ := SealingKeys(t)
	plain, err := db.Open(nil)
	must(t, err)
	mustTenant(t, plain, "a")
	var ids []string
	for i := range 5 {
		ids = append(ids, sealedWebhook(t, plain, i, i%2 == 1).ID)
	}
	if auth, secrets := rawColumns(t, db.Raw, ids[0]); !strings.Contains(auth, SealedPassword) || !strings.Contains(secrets, SealedSecret) {
		t.Fatalf("a store without keys stores %q, %q: want plain text", auth, secrets)
	}
	must(t, plain.Close())

	s := openSealing(t, db, Keyring(t, a))
	for i, id := range ids {
		wantSealed(t, db.Raw, id, a)
		got, err := s.GetWebhook(ctx, "a", id)
		must(t, err)
		wantPlain(t, got, i%2 == 1)
	}
}

// testRekey: a store given a new key reads values sealed under the
// previous one; Rekey rewrites them under the new key, after which the
// previous key is no longer needed, and the old key alone opens nothing.
func testRekey(t *testing.T, db SealingDB) {
	a, b := SealingKeys(t)
	old, err := db.Open(Keyring(t, a))
	must(t, err)
	mustTenant(t, old, "a")
	var ids []string
	for i := range 5 {
		ids = append(ids, sealedWebhook(t, old, i, i%2 == 1).ID)
	}
	must(t, old.Close())

	s, err := db.Open(Keyring(t, b, a))
	must(t, err)
	// Still under a: opening does not rewrite values of a previous key.
	wantSealed(t, db.Raw, ids[0], a)
	got, err := s.GetWebhook(ctx, "a", ids[0])
	must(t, err)
	wantPlain(t, got, false)
	// A webhook written meanwhile is sealed under b.
	fresh := sealedWebhook(t, s, 9, false)
	wantSealed(t, db.Raw, fresh.ID, b)
	n, err := s.Rekey(ctx, 2) // several batches
	must(t, err)
	if n != len(ids) {
		t.Fatalf("Rekey rewrote %d webhooks, want %d", n, len(ids))
	}
	for _, id := range ids {
		wantSealed(t, db.Raw, id, b)
	}
	if n, err := s.Rekey(ctx, 2); err != nil || n != 0 {
		t.Fatalf("second Rekey = %d, %v; want 0: nothing left to do", n, err)
	}
	must(t, s.Close())

	s = openSealing(t, db, Keyring(t, b))
	for i, id := range ids {
		got, err := s.GetWebhook(ctx, "a", id)
		must(t, err)
		wantPlain(t, got, i%2 == 1)
	}
	// The old key alone: opening refuses, naming the key it lacks.
	if s, err := db.Open(Keyring(t, a)); err == nil {
		s.Close()
		t.Fatal("a store opened with a key that sealed nothing of it")
	} else if !strings.Contains(err.Error(), b.ID()) || !strings.Contains(err.Error(), "--encryption-key-file") {
		t.Fatalf("opening with the wrong key: %v; want it to name key %s and the flag", err, b.ID())
	}
	// Rekey stops at a value of a key it was not given.
	mustRaw(t, db.Raw, "UPDATE webhooks SET secrets = '"+seal.Prefix+"0badbeef:AAAA' WHERE id = '"+ids[3]+"'")
	if _, err := s.Rekey(ctx, 2); err == nil || !strings.Contains(err.Error(), "0badbeef") {
		t.Fatalf("Rekey over a value of an unknown key: %v", err)
	}
}

// testSealBoundToRow: a sealed value copied into another webhook's row, by
// someone who can write the database but lacks the key, does not open.
func testSealBoundToRow(t *testing.T, db SealingDB) {
	a, _ := SealingKeys(t)
	s := openSealing(t, db, Keyring(t, a))
	mustTenant(t, s, "a")
	w1 := sealedWebhook(t, s, 1, false)
	w2 := mustWebhook(t, s, "a", url(2))
	_, secrets := rawColumns(t, db.Raw, w1.ID)
	mustRaw(t, db.Raw, "UPDATE webhooks SET secrets = '"+secrets+"' WHERE id = '"+w2.ID+"'")
	if got, err := s.GetWebhook(ctx, "a", w2.ID); err == nil {
		t.Fatalf("secrets copied from another webhook opened: %+v", got.Secrets)
	}
	// Auth sealed for w1 does not open as w1's secrets either.
	auth, _ := rawColumns(t, db.Raw, w1.ID)
	mustRaw(t, db.Raw, "UPDATE webhooks SET secrets = '"+auth+"' WHERE id = '"+w1.ID+"'")
	if _, err := s.GetWebhook(ctx, "a", w1.ID); err == nil {
		t.Fatal("auth opened as secrets")
	}
}

// testSealWithoutKey: a store opened without keys on sealed rows says
// that it lacks the key instead of failing to parse.
func testSealWithoutKey(t *testing.T, db SealingDB) {
	a, _ := SealingKeys(t)
	s, err := db.Open(Keyring(t, a))
	must(t, err)
	mustTenant(t, s, "a")
	w := sealedWebhook(t, s, 1, false)
	must(t, s.Close())
	plain := openSealing(t, db, nil)
	if _, err := plain.GetWebhook(ctx, "a", w.ID); err == nil || !strings.Contains(err.Error(), "without the encryption key") {
		t.Fatalf("sealed webhook read without a key: %v", err)
	}
}

func mustRaw(t *testing.T, raw *sql.DB, query string) {
	t.Helper()
	if _, err := raw.Exec(query); err != nil {
		t.Fatal(err)
	}
}

// testKeyCheck: a store that has no webhook yet still refuses a key other
// than the one it was first opened with (two PostgreSQL processes given
// different keys on a new database), and accepts it as a previous key.
func testKeyCheck(t *testing.T, db SealingDB) {
	a, b := SealingKeys(t)
	s, err := db.Open(Keyring(t, a))
	must(t, err)
	must(t, s.Close())
	if s, err := db.Open(Keyring(t, b)); err == nil {
		s.Close()
		t.Fatal("a store first opened with key a opened with key b alone")
	} else if !strings.Contains(err.Error(), a.ID()) {
		t.Fatalf("opening with another key: %v; want it to name key %s", err, a.ID())
	}
	// Mid-rotation, with a as the previous key, it opens; Rekey moves the
	// check to b.
	s, err = db.Open(Keyring(t, b, a))
	must(t, err)
	if _, err := s.Rekey(ctx, 0); err != nil {
		t.Fatal(err)
	}
	must(t, s.Close())
	openSealing(t, db, Keyring(t, b))
	if s, err := db.Open(Keyring(t, a)); err == nil {
		s.Close()
		t.Fatal("key a still let in after the rekey to b")
	}
}
