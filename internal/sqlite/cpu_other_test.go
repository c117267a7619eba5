//go:build !unix

package sqlite_test

import "time"

// processCPU is 0 where getrusage is not available: the benchmarks'
// CPU metrics then read 0.
func processCPU() time.Duration { return 0 }
