package engine_test

import "syscall"

// cpuTime is the process's CPU time in nanoseconds (user + system): on a loaded machine it
// shows what an operation costs where wall-clock time shows how long it waited.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
