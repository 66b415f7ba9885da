package cputime

import (
	"os"
	"strconv"
	"strings"
)

// clockTick is Linux's USER_HZ on every architecture it runs wazero on.
const clockTick = 10_000_000 // ns

// Nanos is the host process's CPU time (user + system) in nanoseconds, read from
// /proc/self/stat through the runtime's mount of the host's root; 0 if it cannot be read.
func Nanos() int64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	// Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return (u + k) * clockTick
}
