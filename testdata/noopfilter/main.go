// Command noopfilter is the empty proxy-wasm filter: every callback takes the SDK default
// (continue). It is the floor of the host benchmarks: whatever a request costs through
// build/noop.wasm is the price of the host and the ABI, not of any filter logic.
//
// Build it with `make wasm-test-modules` (→ build/noop.wasm).
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct{ types.DefaultPluginContext }

// NewHttpContext must return a context: the SDK's default returns nil, which makes the SDK
// reject every stream.
func (*pluginContext) NewHttpContext(uint32) types.HttpContext { return &types.DefaultHttpContext{} }
