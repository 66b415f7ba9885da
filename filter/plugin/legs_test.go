package plugin

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// A leg is one way of running the filter: its Go code natively under the SDK's host emulator,
// or the compiled module under the same emulator through wazero. Every scenario runs on both.
type leg struct {
	name   string
	module string // build output the leg loads; "" for the native leg
}

var (
	nativeLeg = leg{name: "native"}
	wasmLeg   = leg{name: "wasm", module: "portcullis.wasm"}
	hooksLeg  = leg{name: "wasm-testhooks", module: "portcullis-testhooks.wasm"}
	bothLegs  = []leg{nativeLeg, wasmLeg}
)

// repoRoot finds the repository root from this file's location, so tests run from any directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// vm returns the leg's VM context. The Wasm leg fails — never skips — when the module is
// missing: a green run must mean the compiled module was tested.
func (l leg) vm(t testing.TB) types.VMContext {
	t.Helper()
	if l.module == "" {
		return NewVMContext()
	}
	path := filepath.Join(repoRoot(), "build", l.module)
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s leg: %v (run `make wasm-test-modules` first)", l.name, err)
	}
	vm, err := proxytest.NewWasmVMContext(wasm)
	if err != nil {
		t.Fatalf("%s leg: loading %s: %v", l.name, path, err)
	}
	t.Cleanup(func() { vm.Close() })
	return vm
}

// start runs a plugin with config on the leg and returns the emulator. The SDK's emulator is
// process-global, so tests using it never run in parallel.
func (l leg) start(t testing.TB, config []byte) (proxytest.HostEmulator, types.OnPluginStartStatus) {
	t.Helper()
	return l.run(t, proxytest.NewEmulatorOption().WithVMContext(l.vm(t)).WithPluginConfiguration(config))
}

// startAt is start with the filter's wall clock pinned at now: natively through the VM
// context's clock, in the test-hook module through its VM configuration (testhooks.go). The
// production module cannot be pinned: the SDK's emulator gives it wazero's moving fake clock.
func (l leg) startAt(t testing.TB, config []byte, now time.Time) (proxytest.HostEmulator, types.OnPluginStartStatus) {
	t.Helper()
	opt := proxytest.NewEmulatorOption().WithPluginConfiguration(config)
	switch l {
	case nativeLeg:
		opt = opt.WithVMContext(&vmContext{now: func() time.Time { return now }})
	case hooksLeg:
		opt = opt.WithVMContext(l.vm(t)).WithVMConfiguration([]byte(now.Format(time.RFC3339Nano)))
	default:
		t.Fatalf("%s leg: its clock cannot be pinned", l.name)
	}
	return l.run(t, opt)
}

func (l leg) run(t testing.TB, opt *proxytest.EmulatorOption) (proxytest.HostEmulator, types.OnPluginStartStatus) {
	t.Helper()
	host, reset := proxytest.NewHostEmulator(opt)
	t.Cleanup(reset)
	if host.StartVM() != types.OnVMStartStatusOK {
		t.Fatalf("%s leg: VM start failed", l.name)
	}
	return host, host.StartPlugin()
}
