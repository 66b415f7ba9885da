package wasmhost

// The proxy-wasm ABI 0.2.x values the host exchanges with the guest. They mirror the SDK's
// internal/abi_enums.go and proxy-wasm-cpp-host's WasmResult, so a status the guest sees is the
// one Envoy would return.

// status is a proxy-wasm WasmResult.
type status uint32

const (
	statusOK                  status = 0
	statusNotFound            status = 1
	statusBadArgument         status = 2
	statusInvalidMemoryAccess status = 6
	statusEmpty               status = 7
	statusCasMismatch         status = 8
	statusInternalFailure     status = 10
	statusUnimplemented       status = 12
)

// mapType selects a header map.
type mapType uint32

const (
	mapRequestHeaders       mapType = 0
	mapRequestTrailers      mapType = 1
	mapResponseHeaders      mapType = 2
	mapResponseTrailers     mapType = 3
	mapGrpcInitialMetadata  mapType = 4
	mapGrpcTrailingMetadata mapType = 5
	mapHTTPCallHeaders      mapType = 6
	mapHTTPCallTrailers     mapType = 7
)

// bufferType selects a buffer.
type bufferType uint32

const (
	bufferRequestBody     bufferType = 0
	bufferResponseBody    bufferType = 1
	bufferDownstreamData  bufferType = 2
	bufferUpstreamData    bufferType = 3
	bufferHTTPCallBody    bufferType = 4
	bufferGrpcReceive     bufferType = 5
	bufferVMConfiguration bufferType = 6
	bufferPluginConfig    bufferType = 7
	bufferCallData        bufferType = 8
)

// streamType selects the side of a stream for continue/close.
type streamType uint32

const (
	streamRequest    streamType = 0
	streamResponse   streamType = 1
	streamDownstream streamType = 2
	streamUpstream   streamType = 3
)

// guestAction is what an HTTP callback returns: 0 continues; 1 pauses (StopIteration for
// headers and trailers, StopIterationAndBuffer for bodies). Anything larger is treated as a
// pause, as proxy-wasm-cpp-host does.
type guestAction uint64

const guestContinue guestAction = 0

// rootContextID is the id of the plugin's root context in every VM; stream contexts count up
// from the next id.
const rootContextID = 1
