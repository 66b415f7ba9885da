package gateway

import "time"

// Timeouts bound how long a client may take over a request or keep a connection idle, so
// clients that send a byte a second cannot hold connections and handlers indefinitely. A zero
// field means its default.
//
// # Notes
//
// Read covers the whole request, body included: an upload that takes longer than Read is cut
// off with 408 even if it is steadily moving. Raise it for routes that take large bodies over
// slow links.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers (default 10s); past it the connection is
	// closed.
	ReadHeader time.Duration
	// Read bounds reading a whole request, headers and body (default 60s); past it the request
	// gets 408 and the connection is closed.
	Read time.Duration
	// Idle bounds how long a kept-alive connection may wait for its next request (default 2m).
	Idle time.Duration
}

// Default timeouts.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
)

func (t Timeouts) withDefaults() Timeouts {
	if t.ReadHeader <= 0 {
		t.ReadHeader = DefaultReadHeaderTimeout
	}
	if t.Read <= 0 {
		t.Read = DefaultReadTimeout
	}
	if t.Idle <= 0 {
		t.Idle = DefaultIdleTimeout
	}
	return t
}
