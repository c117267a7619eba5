package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookd/hookd/client"
)

// column is one column of a table of T.
type column[T any] struct {
	head string
	cell func(*T) string
}

// show prints one answer: indented JSON with --json, else each field on a
// line of its own ("name:  value"), in the API's order.
func (x *inv) show(v any) error {
	if x.field != "" {
		return x.printField(v)
	}
	if x.json {
		return x.printJSON(v)
	}
	return writeObject(x.env.Stdout, v)
}

// printJSON prints the answer for --json: the body of the verb's last
// answer exactly as the server sent it, so that a script sees every field,
// those this CLI does not know included; v, encoded, only where the server
// sent no body.
func (x *inv) printJSON(v any) error {
	if n := len(x.answers); n > 0 && len(bytes.TrimSpace(x.answers[n-1])) > 0 {
		return writeRaw(x.env.Stdout, x.answers[n-1])
	}
	return writeJSON(x.env.Stdout, v)
}

// writeRaw writes an answer's body as it is, ending its line.
func writeRaw(w io.Writer, b []byte) error {
	if _, err := w.Write(b); err != nil {
		return err
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		_, err := io.WriteString(w, "\n")
		return err
	}
	return nil
}

// joinPages makes one page of the list pages the server sent (--all
// --json): every page's items as they were sent, in order, in the last
// page's object (its other fields, next_cursor among them, kept).
func joinPages(pages [][]byte) ([]byte, error) {
	var items []json.RawMessage
	var last map[string]json.RawMessage
	for _, p := range pages {
		last = nil
		if err := json.Unmarshal(p, &last); err != nil {
			return nil, fmt.Errorf("a page of the list is not a JSON object: %w", err)
		}
		var data []json.RawMessage
		if err := json.Unmarshal(last["data"], &data); err != nil {
			return nil, fmt.Errorf("a page of the list has no data array: %w", err)
		}
		items = append(items, data...)
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	d, err := json.Marshal(items)
	if err != nil {
		return nil, err
	}
	if last == nil {
		last = map[string]json.RawMessage{"next_cursor": json.RawMessage("null")}
	}
	last["data"] = d
	return json.Marshal(last)
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeObject prints v's JSON fields as an aligned list: strings as they
// are, null as "-", anything else as compact JSON.
func writeObject(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s:\t%s\n", k, cell(raw))
	}
	return tw.Flush()
}

// printField prints the --field of v: a string as it is, an array an
// item a line, anything else as compact JSON; a field v does not have is
// a usage error naming the fields it has.
func (x *inv) printField(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return usagef("--field: the answer is not an object")
	}
	raw, ok := m[x.field]
	if !ok {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		return usagef("--field %q: the answer has %s", x.field, strings.Join(names, ", "))
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		items = []json.RawMessage{raw}
	}
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) != nil {
			s = string(it)
		}
		if _, err := fmt.Fprintln(x.env.Stdout, s); err != nil {
			return err
		}
	}
	return nil
}

// cell is how a JSON value is shown in a table.
func cell(raw json.RawMessage) string {
	var s string
	switch {
	case string(raw) == "null":
		return "-"
	case json.Unmarshal(raw, &s) == nil:
		if s == "" {
			return "-"
		}
		return oneLine(s)
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return oneLine(strings.Join(list, ", "))
	}
	return string(raw)
}

// oneLine keeps a table's rows on one line each.
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", " ").Replace(s)
}

// table prints rows under their heads, aligned.
func table[T any](w io.Writer, cols []column[T], rows []T) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, c := range cols {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprint(tw, c.head)
	}
	fmt.Fprintln(tw)
	for i := range rows {
		for j, c := range cols {
			if j > 0 {
				fmt.Fprint(tw, "\t")
			}
			v := oneLine(c.cell(&rows[i]))
			if v == "" {
				v = "-"
			}
			fmt.Fprint(tw, v)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// list prints a list: one page (with the cursor of the next), or with
// --all every page. --json prints the API's page object as sent, or with
// --all every page's items in one.
func list[T any](x *inv, l *listFlags, cols []column[T], page func() (*client.Page[T], error), all func() iterSeq[T]) error {
	var p *client.Page[T]
	if l.all {
		p = &client.Page[T]{Data: []T{}}
		for v, err := range all() {
			if err != nil {
				return err
			}
			p.Data = append(p.Data, *v)
		}
	} else {
		var err error
		if p, err = page(); err != nil {
			return err
		}
	}
	if x.field != "" {
		for i := range p.Data {
			if err := x.printField(&p.Data[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if x.json && l.all {
		b, err := joinPages(x.answers)
		if err != nil {
			return err
		}
		return writeRaw(x.env.Stdout, b)
	}
	if x.json {
		return x.printJSON(p)
	}
	if err := table(x.env.Stdout, cols, p.Data); err != nil {
		return err
	}
	if p.NextCursor != "" {
		fmt.Fprintf(x.env.Stderr, "More: --cursor %s (or --all)\n", p.NextCursor)
	}
	return nil
}

// done says what a command without an answer did; --json prints nothing.
func (x *inv) done(format string, args ...any) error {
	if x.json {
		return nil
	}
	_, err := fmt.Fprintf(x.env.Stdout, format+"\n", args...)
	return err
}

// ts shows a time in a table: UTC, to the second.
func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func tsp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return ts(*t)
}

func join[S ~string](v []S) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}

// iterSeq is what the client's All methods return.
type iterSeq[T any] = iter.Seq2[*T, error]
