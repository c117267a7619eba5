package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/delivery"
)

// completeCounter is the real store with the outcomes it completed counted.
type completeCounter struct {
	hookd.Store
	done atomic.Int64
}

func (s *completeCounter) Complete(ctx context.Context, outs []hookd.Outcome, now time.Time) error {
	err := s.Store.Complete(ctx, outs, now)
	if err == nil {
		s.done.Add(int64(len(outs)))
	}
	return err
}

// BenchmarkDispatch measures delivery throughput, claim to recorded
// outcome, to a loopback receiver that answers 204 at once; the messages
// are published before the clock starts.
func BenchmarkDispatch(b *testing.B) {
	for _, bc := range []struct {
		name    string
		grouped bool
		groups  int
	}{
		{"ungrouped", false, 0},
		{"grouped-100", true, 100},
	} {
		b.Run(bc.name, func(b *testing.B) {
			db := MustOpenDB(b)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusNoContent)
			}))
			b.Cleanup(srv.Close)
			MustWebhook(b, db, srv.URL, func(w *hookd.Webhook) { w.Grouped = bc.grouped })
			for i := 0; i < b.N; i += 1000 {
				in := make([]hookd.EventInput, min(1000, b.N-i))
				for j := range in {
					in[j] = hookd.EventInput{Type: "Unit.Updated", Payload: json.RawMessage(`{"id":17,"name":"3rd floor"}`)}
					if bc.groups > 0 {
						in[j].Group = fmt.Sprintf("g%d", (i+j)%bc.groups)
					}
				}
				if _, err := db.Publish(context.Background(), tenant, in, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			cs := &completeCounter{Store: db}
			b.ResetTimer()
			start := time.Now()
			StartDispatcher(b, delivery.Config{Store: cs})
			for cs.done.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
