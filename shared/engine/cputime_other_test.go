//go:build !linux

package engine_test

// cpuTime is not measured here (wasip1 has no process CPU clock); cpu-ns/op then reads 0.
func cpuTime() int64 { return 0 }
