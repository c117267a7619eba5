package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// Page is one page of a list: its items in id order (that is, creation
// order) and the cursor of the next page, "" on the last.
type Page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

// ListOptions are the paging parameters every list takes.
type ListOptions struct {
	// Limit is the page size, 1..1000 (0: the server's default, 50).
	Limit int
	// Cursor is a Page's NextCursor, to get the page after it ("": the
	// first page).
	Cursor string
}

func (o *ListOptions) values(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if o == nil {
		return q
	}
	if o.Limit != 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

// setTime sets name to t in RFC 3339 (nanoseconds kept) unless t is zero.
func setTime(q url.Values, name string, t time.Time) {
	if !t.IsZero() {
		q.Set(name, t.UTC().Format(time.RFC3339Nano))
	}
}

// setBool sets name to b unless b is nil.
func setBool(q url.Values, name string, b *bool) {
	if b != nil {
		q.Set(name, strconv.FormatBool(*b))
	}
}

// all iterates over every item of every page from the cursor on, fetching
// a page only when the previous one is used up. An error ends the
// iteration after it is yielded.
func all[T any](ctx context.Context, first string, fetch func(ctx context.Context, cursor string) (*Page[T], error)) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		cursor := first // each run of the iterator starts afresh
		for {
			p, err := fetch(ctx, cursor)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range p.Data {
				if !yield(&p.Data[i], nil) {
					return
				}
			}
			// An empty page with a cursor would loop for ever on a broken
			// server; hookd never sends one.
			if p.NextCursor == "" || len(p.Data) == 0 {
				return
			}
			cursor = p.NextCursor
		}
	}
}

// cursorOf returns the cursor of list options, "" for nil.
func cursorOf(o *ListOptions) string {
	if o == nil {
		return ""
	}
	return o.Cursor
}

// withCursor returns a copy of o with the cursor replaced.
func withCursor(o *ListOptions, cursor string) *ListOptions {
	var c ListOptions
	if o != nil {
		c = *o
	}
	c.Cursor = cursor
	return &c
}
