package property_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/dialect/dialecttest"
	"github.com/hookd/hookd/internal/postgres"
	"github.com/hookd/hookd/internal/postgres/pgtest"
)

// BenchmarkMessagesPage measures one page of a registration's messages
// (20, with their attempts, and totalCount) when it has n messages, 99 %
// successful and 1 % failed: the second page and the last, of all its
// messages, of the failed ones (state 4) and of the successful ones
// (state 3), on SQLite and, when HOOKD_TEST_POSTGRES names a server, on
// PostgreSQL (its statistics and visibility map made by VACUUM ANALYZE, as
// autovacuum would).
func BenchmarkMessagesPage(b *testing.B) {
	for _, store := range []string{"sqlite", "postgres"} {
		b.Run("store="+store, func(b *testing.B) {
			for _, n := range []int{1000, 10000, 100000} {
				b.Run(fmt.Sprintf("messages=%d", n), func(b *testing.B) {
					s, key, id := messagesFixture(b, store, n)
					failed := n / 100
					for _, tt := range []struct {
						name  string
						state string
						total int
					}{
						{"all", "", n},
						{"failed", "&state=4", failed},
						{"successful", "&state=3", n - failed},
					} {
						last := (tt.total + 19) / 20
						for _, page := range []int{2, last} {
							name := fmt.Sprintf("%s/page=%d", tt.name, page)
							if page == last {
								name = tt.name + "/page=last"
							}
							path := fmt.Sprintf("%s/%d/webhooks?pageNumber=%d%s", reg, id, page, tt.state)
							r := s.Do("GET", path, key, nil).Want(b, 200)
							if want := max(0, min(20, tt.total-(page-1)*20)); r.Num("totalCount") != int64(tt.total) || r.Len("items") != want {
								b.Fatalf("%s: totalCount %d, %d items; want %d, %d", path, r.Num("totalCount"), r.Len("items"), tt.total, want)
							}
							b.Run(name, func(b *testing.B) {
								for b.Loop() {
									s.Do("GET", path, key, nil)
								}
							})
						}
					}
				})
			}
		})
	}
}

// messagesFixture starts hookd on the store named (sqlite or postgres)
// without a delivery engine, registers party 42 and publishes n events of
// it, then delivers them: every hundredth fails, the others succeed. It
// returns the server, an admin key and the registration's id.
func messagesFixture(b *testing.B, store string, n int) (*dialecttest.Server, string, int64) {
	b.Helper()
	ctx := context.Background()
	opts := dialecttest.Options{NoEngine: true, Dialects: dialects()}
	var raw *sql.DB
	if store == "postgres" {
		u := pgtest.FreshURL(b)
		db, err := postgres.Open(ctx, u)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if raw, err = sql.Open("pgx", u); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { raw.Close() })
		opts.Store = db
	}
	s := dialecttest.Start(b, opts)
	s.Tenant("acme")
	key := s.Key("acme", hookd.ScopeAdmin)
	id := s.Do("POST", reg, key, body("https://erp.example.com/hooks", 42)).Want(b, 201).Num("id")
	ev := make([]hookd.EventInput, 1000)
	for i := range ev {
		ev[i] = hookd.EventInput{Type: "Unit.Updated", Payload: []byte(`{}`), Attributes: map[string]string{"party_id": "42"}}
	}
	now := time.Now()
	for i := 0; i < n; i += len(ev) {
		if _, err := s.Store.Publish(ctx, "acme", ev[:min(len(ev), n-i)], now); err != nil {
			b.Fatal(err)
		}
	}
	done := 0
	for done < n {
		ds, err := s.Store.Claim(ctx, now, 1000, time.Hour)
		if err != nil || len(ds) == 0 {
			b.Fatalf("claimed %d after %d of %d: %v", len(ds), done, n, err)
		}
		outs := make([]hookd.Outcome, len(ds))
		for i, d := range ds {
			outs[i] = hookd.Outcome{MessageID: d.Message.ID, Lease: d.Lease, State: hookd.StateSuccessful,
				Attempt: hookd.Attempt{StartedAt: now, DurationMS: 12, StatusCode: 204, Success: true}}
			if (done+i)%100 == 99 {
				outs[i].State, outs[i].Attempt = hookd.StateFailed,
					hookd.Attempt{StartedAt: now, DurationMS: 30, StatusCode: 500, Error: hookd.AttemptErrStatus}
			}
		}
		if err := s.Store.Complete(ctx, outs, now); err != nil {
			b.Fatal(err)
		}
		done += len(ds)
	}
	if raw != nil {
		if _, err := raw.Exec("VACUUM ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	return s, key, id
}
