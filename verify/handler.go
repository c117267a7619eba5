package verify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
)

type contextKey struct{}

// Handler returns middleware that lets only verified deliveries through
// to next. It reads the body (at most v.MaxBodyBytes), verifies it with
// v, decodes the envelope and calls next with the envelope in the
// request's context (FromContext) and the body, unchanged, readable again.
//
// Anything else is answered at once, in plain text, so that hookd records
// why the attempt failed:
//   - 413 for a body over the limit;
//   - 400 for missing signature headers, a malformed timestamp or a body
//     that is not an envelope;
//   - 401 for a timestamp outside the tolerance or no matching signature.
//
// hookd retries the failed attempt on its schedule; a receiver that
// answers 401 because it has not been given a rotated secret yet gets the
// message again later.
func Handler(v *Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := v.MaxBodyBytes
		if limit <= 0 {
			limit = DefaultMaxBodyBytes
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			http.Error(w, "verify: the body is larger than "+strconv.FormatInt(limit, 10)+" bytes", http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(w, "verify: could not read the body", http.StatusBadRequest)
			return
		}
		env, err := v.Parse(r.Header, body)
		if err != nil {
			http.Error(w, err.Error(), Status(err))
			return
		}
		r2 := r.WithContext(context.WithValue(r.Context(), contextKey{}, env))
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		next.ServeHTTP(w, r2)
	})
}

// FromContext returns the envelope Handler put in a request's context.
func FromContext(ctx context.Context) (*Envelope, bool) {
	e, ok := ctx.Value(contextKey{}).(*Envelope)
	return e, ok
}

// Status returns the HTTP status Handler answers for an error of Verify,
// Parse or Decode: 401 for a signature or timestamp that does not pass,
// 400 for a request that is not a delivery at all, 500 otherwise.
func Status(err error) int {
	switch {
	case errors.Is(err, ErrNoMatch), errors.Is(err, ErrTooOld), errors.Is(err, ErrTooNew):
		return http.StatusUnauthorized
	case errors.Is(err, ErrMissingHeader), errors.Is(err, ErrInvalidTimestamp), errors.Is(err, ErrMalformed):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
