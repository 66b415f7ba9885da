package cputime

import "syscall"

// Nanos is the process's CPU time (user + system) in nanoseconds.
func Nanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
