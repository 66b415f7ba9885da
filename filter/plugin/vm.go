package plugin

import (
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

type vmContext struct {
	types.DefaultVMContext
	now func() time.Time // the host's clock inside a VM; tests running natively set their own
}

// NewVMContext returns the VM context to register with proxywasm.SetVMContext.
func NewVMContext() types.VMContext { return &vmContext{now: wallClock} }

// wallClock is the time without its monotonic reading: the filter's ages are differences of
// wall-clock times, which VMs share as Unix times and which a host's test clock drives (the
// monotonic clock it cannot).
func wallClock() time.Time { return time.Now().Round(0) }

// NewPluginContext is called once per plugin (filter configuration) in the VM.
// The plugin reads the VM's clock through v at each call, not a copy of v.now taken here: the
// host creates the root context before it calls OnVMStart, where the test-hook build pins the
// clock (testhooks.go).
func (v *vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return &pluginContext{now: v.clock}
}

func (v *vmContext) clock() time.Time { return v.now() }
