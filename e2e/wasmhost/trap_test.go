package wasmhost_test

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestTrapFailsClosed: a Go panic that escapes the filter traps its VM. That VM answers every
// stream with 503 (Envoy's fail-closed policy); the other VMs keep serving.
func TestTrapFailsClosed(t *testing.T) {
	const workers = 4
	h := probeHost(t, wasmhost.Options{Workers: workers})
	s := h.NewStream(wasmhost.StreamInfo{})
	failed := s.VM()
	r := s.RequestHeaders(request("panic"), true)
	s.Done()
	if r.Action != wasmhost.LocalResponse || r.Local.Status != 503 || r.Local.Details != "wasm_fail_stream" {
		t.Fatalf("trapping request: %+v, want 503 wasm_fail_stream", r)
	}
	for i := 0; i < 2*workers; i++ {
		s := h.NewStream(wasmhost.StreamInfo{})
		r := s.RequestHeaders(request(""), true)
		s.Done()
		switch {
		case s.VM() == failed && (r.Action != wasmhost.LocalResponse || r.Local.Status != 503):
			t.Fatalf("request %d on the failed vm %d: %+v, want 503", i, failed, r)
		case s.VM() != failed && r.Action != wasmhost.Continue:
			t.Fatalf("request %d on healthy vm %d: %+v", i, s.VM(), r)
		}
	}
	for _, vm := range h.VMs() {
		if vm.Failed != (vm.Index == failed) || vm.Generation != 0 {
			t.Fatalf("vm %+v (failed vm %d, no reload)", vm, failed)
		}
	}
}

// TestTrapReload: with ReloadOnTrap, a failed VM is recreated on the first request after its
// backoff, which doubles while reloaded VMs keep failing and resets once one serves a request.
func TestTrapReload(t *testing.T) {
	clock := wasmhost.NewFakeClock(epoch)
	h := probeHost(t, wasmhost.Options{Clock: clock, ReloadOnTrap: true, ReloadBackoff: time.Second})
	send := func(action string) wasmhost.Result {
		t.Helper()
		return headers(t, h, request(action))
	}
	is503 := func(r wasmhost.Result) bool { return r.Action == wasmhost.LocalResponse && r.Local.Status == 503 }

	steps := []struct {
		name    string
		advance time.Duration
		action  string
		want503 bool
		gen     int
	}{
		{"the trap", 0, "panic", true, 0},
		{"before the backoff", 999 * time.Millisecond, "", true, 0},
		{"the first reload (after 1s) traps again", time.Millisecond, "panic", true, 1},
		{"the backoff doubled: 1s is not enough", time.Second, "", true, 1},
		{"after 2s the VM is reloaded and serves", time.Second, "", false, 2},
		{"trap again", 0, "panic", true, 2},
		{"a healthy request reset the backoff to 1s", time.Second, "", false, 3},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		r := send(st.action)
		if is503(r) != st.want503 {
			t.Fatalf("%s: %+v, want 503 %v", st.name, r, st.want503)
		}
		if gen := h.VMs()[0].Generation; gen != st.gen {
			t.Fatalf("%s: generation %d, want %d", st.name, gen, st.gen)
		}
	}
}

// TestCallTimeout: with Options.CallTimeout, a callback that never returns traps its VM, which
// then fails closed like any other trap.
func TestCallTimeout(t *testing.T) {
	h := probeHost(t, wasmhost.Options{CallTimeout: 200 * time.Millisecond})
	r := headers(t, h, request("spin"))
	if r.Action != wasmhost.LocalResponse || r.Local.Status != 503 {
		t.Fatalf("spinning callback: %+v, want 503", r)
	}
	if !h.VMs()[0].Failed {
		t.Fatal("the VM is not marked failed")
	}
}
