package hookdtest

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// Body is a test request's body: nil for none, a string or []byte sent
// as is, any other value as JSON.
func Body(t testing.TB, body any) io.Reader {
	t.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return strings.NewReader(b)
	case []byte:
		return bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.NewReader(j)
	}
}
