package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hookd/hookd"
)

// fetchPage fetches one page of a list.
type fetchPage[T any] func(ctx context.Context, p hookd.Page) ([]T, error)

// listing is one list endpoint: the query parameters it takes besides
// limit and cursor, how it reads them, and how it shows an item. serve is
// the one handler behind every list.
type listing[T, V any] struct {
	// params are the endpoint's own query parameters; any other but limit
	// and cursor is a 400 naming it, so that a parameter the endpoint does
	// not know (a misspelling, another API's offset=2&count=1) is not
	// silently ignored while the client gets a page it did not ask for.
	params []string
	// filter reads params from q, adding their problems to f, and returns
	// the fetch of a page, which is called only when the whole query is
	// valid.
	filter func(q url.Values, f *hookd.Fields) fetchPage[T]
	id     func(T) string
	view   func(T) V
	// cursor decodes a cursor of this list (nil: decodeCursor, the
	// cursor of an id).
	cursor func(string) (string, bool)
}

// pageParams are the query parameters every list takes.
var pageParams = []string{"limit", "cursor"}

// serve answers the list: one 400 naming every problem of the query, or
// one page of items with the cursor of the next.
func (l listing[T, V]) serve(w http.ResponseWriter, r *http.Request) error {
	var f hookd.Fields
	q, err := query(r, &f)
	if err != nil {
		return err
	}
	decode := l.cursor
	if decode == nil {
		decode = decodeCursor
	}
	p, limit := pageOf(q, &f, decode)
	var fetch fetchPage[T]
	if l.filter != nil {
		fetch = l.filter(q, &f)
	}
	unknownParams(q, l.params, &f)
	if err := f.Err(); err != nil {
		return err
	}
	items, err := fetch(r.Context(), p)
	if err != nil {
		return err
	}
	paginate(w, items, limit, l.id, l.view)
	return nil
}

// everything is the filter of a list without parameters of its own.
func everything[T any](fetch fetchPage[T]) func(url.Values, *hookd.Fields) fetchPage[T] {
	return func(url.Values, *hookd.Fields) fetchPage[T] { return fetch }
}

// unknownParams adds to f every parameter of q that is neither a page
// parameter nor one of params, saying which the list takes.
func unknownParams(q url.Values, params []string, f *hookd.Fields) {
	known := append(append([]string{}, pageParams...), params...)
	for _, name := range sortedKeys(q) {
		if !slices.Contains(known, name) {
			f.Add(name, "is not a query parameter of this list, which takes %s", strings.Join(known, ", "))
		}
	}
}
