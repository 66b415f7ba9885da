package engine

import "time"

// Request is the part of an HTTP request the engine looks at.
type Request struct {
	Method    string
	Authority string // the :authority (Host) header, possibly with a port
	Path      string // the :path pseudo-header: path, query and fragment as received
	// Headers holds every regular header in order with lower-case names; a repeated header
	// appears once per occurrence. Pseudo-headers may be included and are ignored.
	Headers [][2]string
	// Source is the connection's source address ("ip:port", Envoy's source.address). When it
	// is empty and SourceFunc is set, SourceFunc is called for it, once, and only when a check
	// of the matched route needs the client address: hosts where reading it costs a host call
	// (the filter's property read) pay only on routes with IP rules.
	Source     string
	SourceFunc func() string
	Now        time.Time
	// Replay remembers verified webhook deliveries for verifiers with replay protection; the
	// filter passes one over shared data so every worker VM sees every delivery. nil: each
	// verifier's own in-process store.
	Replay ReplayStore
	// Counters is the store of rate-limit and concurrency state, needed when
	// Engine.UsesCounters reports true; Owner identifies the caller (a worker VM) for the
	// concurrency slots it holds.
	Counters Counters
	Owner    uint64
	// Limits, if set, is where the rate-limit and concurrency checks record what they did
	// (Decision.Limits then points to it), so that a caller that keeps one per request (the
	// filter, in its HTTP context) spares the allocation. nil: allocated when needed.
	Limits *LimitResult
}

// Decision is the outcome for one request.
type Decision struct {
	Allow bool
	// Local is true for a non-error reply the filter sends itself (a CORS preflight): Status,
	// Headers and Body describe it, and it is not a denial.
	Local bool

	// For a denial: the status, the JSON body and the response headers (content-type included).
	Status  int
	Code    string // machine-readable reason, also the metrics label
	Body    []byte
	Headers [][2]string

	// For an allowed request: request headers to remove and then to set before forwarding.
	Remove []string
	Set    [][2]string
	// Response edits the host applies to the upstream's response headers (security and CORS
	// headers); the filter's own replies already carry them in Headers.
	Response []HeaderEdit

	// Route is the name of the matched route ("" when none matched).
	Route string
	// KeyID is the authenticated key's id ("" for unauthenticated routes).
	KeyID string
	// Identity is who the request is, when a check authenticated it.
	Identity *Identity
	// MaxBodyBytes is the body limit the caller enforces on the streamed body of an allowed
	// request.
	MaxBodyBytes int64
	// BufferBody asks the host to hold the whole request body (up to MaxBodyBytes) and call
	// Engine.DecideBody at the end of the stream, before the body reaches the upstream: the
	// route verifies a signature over the exact bytes. Routes without a body check never
	// buffer.
	BufferBody bool
	body       *verifier
	denyEdits  []HeaderEdit // response headers for a denial decided on the body
	// Stage is the pipeline stage that decided (for logs and dry-run explanations).
	Stage Stage
	// Limits is what the rate-limit and concurrency checks did (nil on routes without them):
	// the buckets read, the concurrency slots to release when the stream ends, the global
	// limits still to count.
	Limits *LimitResult
}
