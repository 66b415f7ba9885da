// Package wasmhost runs proxy-wasm filters in-process on wazero with Envoy's semantics, so a
// filter's compiled .wasm can be tested — and served by the local gateway — without Envoy.
//
// A Host loads one module into several worker VMs (like Envoy's worker threads) that share one
// shared-data store, the shared queues and the metrics. Each request is a Stream pinned to one
// VM for its whole life; a VM runs one callback at a time, different VMs run in parallel.
//
//	host, err := wasmhost.New(ctx, wasm, wasmhost.Options{PluginConfig: cfg})
//	defer host.Close(ctx)
//	s := host.NewStream(wasmhost.StreamInfo{})
//	defer s.Done()
//	res := s.RequestHeaders([][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "x"}}, true)
//	if res.Action == wasmhost.LocalResponse { ... res.Local.Status ... }
//
// What the host reproduces from Envoy, and where it knowingly differs, is listed in
// docs/wasmhost.md.
//
// # Notes
//
//   - Pause on headers stops the whole side (Envoy's StopAllIterationAndWatermark): body data
//     given while headers are paused is held by the host, not shown to the filter, until the
//     filter resumes.
//   - Pause on a body callback buffers (StopIterationAndBuffer): the next body callback sees the
//     whole buffered body. Held data above Options.BufferLimit ends the stream with 413 on the
//     request side and 500 (or a reset, once response headers went out) on the response side.
//   - A local response sent while the request is processed goes through the filter's response
//     callbacks, as in Envoy; one sent during the response is written directly.
//   - A VM that traps fails closed: every stream on it gets 503 until it is reloaded
//     (Options.ReloadOnTrap).
package wasmhost
