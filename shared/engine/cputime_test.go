package engine_test

import "github.com/portcullis/portcullis/shared/internal/cputime"

// cpuTime is the process's CPU time in nanoseconds (shared/internal/cputime; under wazero, the
// host process's).
func cpuTime() int64 { return cputime.Nanos() }
