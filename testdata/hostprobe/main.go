// Command hostprobe is a test-only proxy-wasm filter that exercises the in-process host
// (e2e/wasmhost): every request names an action in its x-probe header, and the probe either
// answers with a local response describing what the host did, or edits the request and lets it
// through. It is built by `make wasm-test-modules` (→ build/hostprobe.wasm) and never shipped.
//
// Plugin configuration: lines of key=value.
//
//	tick_ms=N   set the tick period; every tick increments probe_ticks
//	fail=1      fail OnPluginStart
//
// VM configuration "fail" fails OnVMStart.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) OnVMStart(size int) types.OnVMStartStatus {
	cfg, _ := proxywasm.GetVMConfiguration()
	if string(cfg) == "fail" {
		proxywasm.LogCritical("probe: vm configuration asks to fail")
		return types.OnVMStartStatusFailed
	}
	return types.OnVMStartStatusOK
}

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }
