// Command filter is the Portcullis proxy-wasm module. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o build/portcullis.wasm ./filter
//
// The logic lives in package plugin; this file only registers it with the SDK.
package main

import (
	"github.com/portcullis/portcullis/filter/plugin"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

func main() {}

func init() { proxywasm.SetVMContext(plugin.NewVMContext()) }
