package plugin

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

type vmContext struct {
	types.DefaultVMContext
}

// NewVMContext returns the VM context to register with proxywasm.SetVMContext.
func NewVMContext() types.VMContext { return &vmContext{} }

// NewPluginContext is called once per plugin (filter configuration) in the VM.
func (*vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return &pluginContext{}
}
