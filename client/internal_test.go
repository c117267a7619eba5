package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"1.5", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for _, tc := range []struct {
		attempt  int
		low, max time.Duration
	}{
		{0, 50 * time.Millisecond, 100 * time.Millisecond},
		{1, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 400 * time.Millisecond, 800 * time.Millisecond},
		{4, 500 * time.Millisecond, time.Second},
		{60, 500 * time.Millisecond, time.Second},
	} {
		for range 50 {
			if got := p.backoff(tc.attempt); got < tc.low || got > tc.max {
				t.Fatalf("backoff(%d) = %v, want %v..%v", tc.attempt, got, tc.low, tc.max)
			}
		}
	}
}

func TestRetryDecision(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, MaxWait: 10 * time.Second}
	for _, tc := range []struct {
		name       string
		attempt    int
		idempotent bool
		status     int
		retryAfter time.Duration
		want       bool
	}{
		{"503 idempotent", 0, true, 503, 0, true},
		{"503 not idempotent", 0, false, 503, 0, false},
		{"429 not idempotent", 0, false, 429, 0, true},
		{"500", 0, true, 500, 0, false},
		{"502", 0, true, 502, 0, false},
		{"404", 0, true, 404, 0, false},
		{"last retry used", 2, true, 503, 0, false},
		{"Retry-After within MaxWait", 1, true, 503, 10 * time.Second, true},
		{"Retry-After beyond MaxWait", 1, true, 503, 11 * time.Second, false},
	} {
		wait, ok := p.retryAfter(tc.attempt, tc.idempotent, &Error{Status: tc.status, RetryAfter: tc.retryAfter})
		if ok != tc.want || (ok && tc.retryAfter > 0 && wait != tc.retryAfter) {
			t.Errorf("%s: retry = %v after %v, want %v", tc.name, ok, wait, tc.want)
		}
	}
}

func TestNotSent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = (&http.Client{Transport: &http.Transport{}}).Get("http://" + addr + "/")
	if err == nil || !notSent(err) {
		t.Fatalf("refused connection: notSent(%v) = false", err)
	}
	for _, err := range []error{context.Canceled, errors.New("EOF"), &net.OpError{Op: "read", Err: errors.New("reset")}} {
		if notSent(err) {
			t.Errorf("notSent(%v) = true", err)
		}
	}
}
