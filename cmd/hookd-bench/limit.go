package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// limitResult is the raw HTTP delivery rate on this machine: what a plain
// Go client achieves against the same receiver, with hookd's body size,
// headers and concurrency, but no store and no scheduling.
type limitResult struct {
	Rate      float64 `json:"rate_per_s"`
	Requests  int     `json:"requests"`
	Seconds   float64 `json:"seconds"`
	Errors    int64   `json:"errors"`
	Conns     int     `json:"concurrency"`
	BodyBytes float64 `json:"avg_body_bytes"`
	CPUBench  float64 `json:"bench_cpu_seconds"`
}

// deliveryBody is the body hookd POSTs, field for field (delivery.Body).
type deliveryBody struct {
	ID        string          `json:"id"`
	EventID   string          `json:"event_id"`
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	TenantID  string          `json:"tenant_id"`
	Group     string          `json:"group,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// fakeID returns an id shaped like hookd's (prefix + 26 characters).
func fakeID(prefix string, n int64) string {
	s := strconv.FormatInt(n, 10)
	const width = 26
	if len(s) < width {
		s = "01kbench000000000000000000"[:width-len(s)] + s
	}
	return prefix + "_" + s
}

// measureLimit runs conns clients that each send one request after the
// other, for d or until maxReq requests, and measures the rate at the
// receiver from the first send to the last receipt.
func (b *bench) measureLimit(ctx context.Context, conns int, d time.Duration, maxReq int) (limitResult, error) {
	s := b.rcv.addSink("limit", sinkOK)
	defer s.release()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	hc := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        max(100, 4*conns),
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()

	cpu0 := selfCPUSeconds()
	start := time.Now()
	deadline := start.Add(d)
	var sent, errs atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			var data []byte
			for ctx.Err() == nil && time.Now().Before(deadline) && sent.Add(1) <= int64(maxReq) {
				seq := b.seq.Add(1)
				now := time.Now()
				data = appendEvent(data[:0], evt{Type: "bench.limit", Seq: seq}, now.UnixNano(), b.pad)
				// appendEvent writes a publish request; the payload is its
				// "payload" object, which hookd puts into "data".
				var pub struct {
					Payload json.RawMessage `json:"payload"`
				}
				_ = json.Unmarshal(data, &pub)
				msgID := fakeID("msg", seq)
				body, _ := json.Marshal(deliveryBody{
					ID: msgID, EventID: fakeID("evt", seq), Type: "bench.limit",
					Timestamp: now.UTC().Format(time.RFC3339Nano), TenantID: "bench-limit-000000",
					Data: pub.Payload,
				})
				ts := strconv.FormatInt(now.Unix(), 10)
				mac := hmac.New(sha256.New, key)
				mac.Write([]byte(msgID + "." + ts + "."))
				mac.Write(body)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
				if err != nil {
					errs.Add(1)
					continue
				}
				h := req.Header
				h.Set("Content-Type", "application/json")
				h.Set("User-Agent", "hookd/0.1.0")
				h.Set("Webhook-Id", msgID)
				h.Set("Webhook-Timestamp", ts)
				h.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
				resp, err := hc.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return limitResult{}, err
	}
	st := s.stats()
	if st.Unique == 0 {
		return limitResult{}, fmt.Errorf("limit: nothing arrived (%d errors)", errs.Load())
	}
	el := time.Duration(st.LastAt - start.UnixNano())
	return limitResult{
		Rate: rate(st.Unique, el), Requests: st.Unique, Seconds: el.Seconds(), Errors: errs.Load(),
		Conns: conns, BodyBytes: st.AvgBody, CPUBench: selfCPUSeconds() - cpu0,
	}, nil
}
