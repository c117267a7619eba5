package httpapi_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: a
// store or server that is not closed, or closes without waiting for its
// own goroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
