// Package cputime reads the process's CPU time for benchmarks (cpu-ns/op): on a loaded
// machine it shows what an operation costs, where wall-clock time shows how long it waited.
//
// # Notes
//
// Under wasip1 the module has no CPU clock of its own; when it runs under wazero with the host's
// root mounted (go_wasip1_wasm_exec does `wazero run -mount /:/`), /proc/self/stat is the wazero
// process's, whose CPU time is the module's plus the runtime's. Its resolution is a clock tick
// (10 ms), so run enough iterations. Elsewhere, and when /proc cannot be read, Nanos reads 0.
package cputime
