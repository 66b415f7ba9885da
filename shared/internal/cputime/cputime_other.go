//go:build !linux && !wasip1

package cputime

// Nanos is not measured here; it reads 0.
func Nanos() int64 { return 0 }
