//go:build portcullis_testhooks

package plugin

import (
	"runtime/debug"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// This file is compiled only into build/portcullis-testhooks.wasm, the module the recovery
// tests and the pinned-clock JWT tests load. Production builds have no way to trigger a panic
// or a trap from a request, nor to set the filter's clock.

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

// OnVMStart pins the filter's wall clock when the VM configuration is an RFC 3339 instant, so
// the exact-time JWT cases (exp equal to now, the leeway's edges) run on the compiled module
// under the SDK's emulator too: that emulator runs wazero with its default fake clock, which
// moves a millisecond on every reading and which a test cannot set. Production builds keep
// DefaultVMContext's OnVMStart and ignore the VM configuration.
func (v *vmContext) OnVMStart(vmConfigurationSize int) types.OnVMStartStatus {
	if vmConfigurationSize == 0 {
		return types.OnVMStartStatusOK
	}
	data, err := proxywasm.GetVMConfiguration()
	if err != nil {
		proxywasm.LogCriticalf("test hook: reading the VM configuration: %v", err)
		return types.OnVMStartStatusFailed
	}
	at, err := time.Parse(time.RFC3339Nano, string(data))
	if err != nil {
		proxywasm.LogCriticalf("test hook: the VM configuration is not an RFC 3339 instant: %v", err)
		return types.OnVMStartStatusFailed
	}
	v.now = func() time.Time { return at }
	return types.OnVMStartStatusOK
}
