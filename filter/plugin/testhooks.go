//go:build portcullis_testhooks

package plugin

// This file is compiled only into build/portcullis-testhooks.wasm, the module the panic-recovery
// tests load. Production builds have no way to trigger a panic from a request.

// TestPanicHeader makes the test-hook build panic inside the request-headers callback.
const TestPanicHeader = "x-portcullis-test-panic"

func init() {
	panicHook = func(headers [][2]string) {
		for _, kv := range headers {
			if kv[0] == TestPanicHeader {
				panic("test hook: injected panic")
			}
		}
	}
}
