package wasmhost_test

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/wasmhost"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// TestDifferentialAgainstSDKEmulator runs every scenario through this host and through the
// SDK's own host emulator loading the same compiled module (proxytest.NewWasmVMContext), and
// requires identical outcomes: status, body, reply headers, and the headers the upstream gets.
// Two independent hosts agreeing is what lets the gateway stand in for Envoy.
func TestDifferentialAgainstSDKEmulator(t *testing.T) {
	vm, err := proxytest.NewWasmVMContext(module(t, "portcullis.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	emu, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm).WithPluginConfiguration(scenario.PluginConfig))
	defer reset()
	if emu.StartVM() != types.OnVMStartStatusOK || emu.StartPlugin() != types.OnPluginStartStatusOK {
		t.Fatalf("the SDK emulator did not start the module: %v", emu.GetCriticalLogs())
	}
	h := newHost(t, "portcullis.wasm", wasmhost.Options{Workers: 2, PluginConfig: scenario.PluginConfig})

	for i := range scenario.Cases {
		c := &scenario.Cases[i]
		t.Run(c.Name, func(t *testing.T) {
			ours := runScenario(h, &c.Req).Normalized()
			sdk, _ := scenario.RunEmulated(emu, &c.Req)
			theirs := sdk.Normalized()
			if d := diff(ours, theirs); d != "" {
				t.Fatalf("wasmhost and the SDK emulator disagree:\n%s", d)
			}
		})
	}
}

// diff describes how two normalized outcomes differ. content-length is the host's part of a
// local reply (Envoy adds it; the SDK emulator does not), so it is checked against the body
// and left out of the comparison.
func diff(a, b scenario.Outcome) string {
	var err string
	a.Headers, err = withoutLength(a.Headers, len(a.Body))
	if err == "" {
		b.Headers, err = withoutLength(b.Headers, len(b.Body))
	}
	switch {
	case err != "":
		return err
	case a.Status != b.Status:
		return fmt.Sprintf("status: wasmhost %d, emulator %d", a.Status, b.Status)
	case !bytes.Equal(a.Body, b.Body):
		return fmt.Sprintf("body: wasmhost %q, emulator %q", a.Body, b.Body)
	case fmt.Sprint(a.Headers) != fmt.Sprint(b.Headers):
		return fmt.Sprintf("reply headers:\n wasmhost %q\n emulator %q", a.Headers, b.Headers)
	case fmt.Sprint(a.Upstream) != fmt.Sprint(b.Upstream):
		return fmt.Sprintf("upstream headers:\n wasmhost %q\n emulator %q", a.Upstream, b.Upstream)
	case fmt.Sprint(a.Response) != fmt.Sprint(b.Response):
		return fmt.Sprintf("response headers:\n wasmhost %q\n emulator %q", a.Response, b.Response)
	}
	return ""
}

func withoutLength(hs [][2]string, body int) ([][2]string, string) {
	var out [][2]string
	for _, kv := range hs {
		if kv[0] != "content-length" {
			out = append(out, kv)
		} else if kv[1] != strconv.Itoa(body) {
			return nil, fmt.Sprintf("content-length %s for a body of %d bytes", kv[1], body)
		}
	}
	return out, ""
}
