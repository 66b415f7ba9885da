//go:build portcullis_testhooks

package plugin

import "runtime/debug"

// This file is compiled only into build/portcullis-testhooks.wasm, the module the recovery
// tests load. Production builds have no way to trigger a panic or a trap from a request.

// TestPanicHeader makes the test-hook build panic inside the request-headers callback.
const TestPanicHeader = "x-portcullis-test-panic"

// TestTrapHeader makes the test-hook build die of a Go fatal error (a stack overflow) inside
// the request-headers callback: unlike a panic, nothing can recover it, and the runtime exits,
// which traps the VM. It stands for any bug that kills the Go runtime.
const TestTrapHeader = "x-portcullis-test-trap"

func init() {
	panicHook = func(headers [][2]string) {
		for _, kv := range headers {
			switch kv[0] {
			case TestPanicHeader:
				panic("test hook: injected panic")
			case TestTrapHeader:
				debug.SetMaxStack(64 << 10)
				overflow(0)
			}
		}
	}
}

// overflow recurses until the stack limit ends the runtime ("fatal error: stack overflow").
func overflow(n int) int {
	var frame [256]byte
	frame[n%len(frame)] = byte(n)
	return overflow(n+1) + int(frame[(n+1)%len(frame)])
}
