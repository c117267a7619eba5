package enterprise_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: a
// server, receiver or engine that is not stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
