package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/delivery"
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

// BenchmarkSend measures attempts to a loopback receiver that answers 204,
// from 64 goroutines, with hookd's Sender and, as the baseline of the same
// run, net/http's client posting the same request (what the Sender used
// before it had its own client). cpu-µs/op is the whole process's CPU
// (receiver included) per attempt.
func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	d := newDelivery(srv.URL + "/hook")
	body, err := delivery.Body(d)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		send func(context.Context) error
	}{
		{"sender", func() func(context.Context) error {
			s := delivery.NewSender(loopback, 64, nil)
			b.Cleanup(s.CloseIdleConnections)
			return func(ctx context.Context) error {
				if r := s.Send(ctx, d); !r.Attempt.Success {
					return fmt.Errorf("attempt %+v: %v", r.Attempt, r.Err)
				}
				return nil
			}
		}()},
		{"net-http", func() func(context.Context) error {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
			b.Cleanup(c.CloseIdleConnections)
			return func(ctx context.Context) error {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/hook", bytes.NewReader(body))
				if err != nil {
					return err
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "hookd/"+hookd.Version)
				req.Header.Set("Webhook-Id", d.Message.ID)
				req.Header.Set("Webhook-Timestamp", "1795000000")
				req.Header.Set("Webhook-Signature", "v1,"+strings.Repeat("A", 44))
				resp, err := c.Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return nil
			}
		}()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetParallelism(32) // × GOMAXPROCS 2 = 64 goroutines
			cpu0 := processCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := bc.send(context.Background()); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is the CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
