package property_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/dialect/dialecttest"
)

// BenchmarkMessagesPage measures one page of a registration's messages
// (20, with their attempts) when it has n messages: totalCount reads them
// all, a page at a time.
func BenchmarkMessagesPage(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("messages=%d", n), func(b *testing.B) {
			s := dialecttest.Start(b, dialecttest.Options{NoEngine: true, Dialects: dialects()})
			s.Tenant("acme")
			key := s.Key("acme", hookd.ScopeAdmin)
			id := s.Do("POST", reg, key, body("https://erp.example.com/hooks", 42)).Want(b, 201).Num("id")
			ev := make([]hookd.EventInput, 1000)
			for i := range ev {
				ev[i] = hookd.EventInput{Type: "Unit.Updated", Payload: []byte(`{}`), Attributes: map[string]string{"party_id": "42"}}
			}
			for i := 0; i < n; i += len(ev) {
				if _, err := s.Store.Publish(context.Background(), "acme", ev, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			path := fmt.Sprintf("%s/%d/webhooks?pageNumber=2", reg, id)
			if r := s.Do("GET", path, key, nil).Want(b, 200); r.Num("totalCount") != int64(n) {
				b.Fatalf("totalCount %d", r.Num("totalCount"))
			}
			b.ResetTimer()
			for range b.N {
				s.Do("GET", path, key, nil)
			}
		})
	}
}
