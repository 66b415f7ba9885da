package scenario

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// KeyTrap is a live key server for the jku and x5u cases of the JWT table to point at
// (JWTCases' callback): the filter fetches no keys, so a leg fails when Calls is not zero.
type KeyTrap struct {
	srv   *httptest.Server
	calls atomic.Int64
}

// NewKeyTrap starts a KeyTrap; Close stops it.
func NewKeyTrap() *KeyTrap {
	k := &KeyTrap{}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		k.calls.Add(1)
		w.Write([]byte(`{"keys":[]}`))
	}))
	return k
}

// Base is the server's URL, for a host's cluster.
func (k *KeyTrap) Base() string { return k.srv.URL }

// URL is what the jku and x5u header parameters name.
func (k *KeyTrap) URL() string { return k.srv.URL + "/jwks" }

// Calls is how many requests the server received.
func (k *KeyTrap) Calls() int64 { return k.calls.Load() }

// Close stops the server.
func (k *KeyTrap) Close() { k.srv.Close() }
