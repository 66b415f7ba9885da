package engine

import (
	"errors"
	"sync"
)

// Counters is the store the rate-limit and concurrency checks keep their state in: proxy-wasm
// shared data in the filter (one store for every worker VM of an Envoy process), memory in
// tests, dry runs and the control server. Its contract is proxy-wasm's:
//
//   - Get returns a key's value and its version; found is false for a key never written.
//   - Set writes value when version is the key's current version, and returns
//     ErrVersionMismatch when another writer got there first. Version 0 writes
//     unconditionally, and a key that does not exist yet is written whatever the version
//     (there is no create-if-absent; see EnsureCounters for how the tables live with that).
//
// Entries cannot be deleted, so the checks keep their state in fixed tables of entries (see
// table.go) and memory is bounded by design.
type Counters interface {
	Get(key string) (value []byte, version uint32, found bool, err error)
	Set(key string, value []byte, version uint32) error
}

// ErrVersionMismatch is Set's answer when the key changed since it was read.
var ErrVersionMismatch = errors.New("counter changed since it was read")

// MemoryCounters is a Counters in memory with proxy-wasm's compare-and-swap rules. It is safe
// for concurrent use.
type MemoryCounters struct {
	mu      sync.Mutex
	m       map[string]memoryValue
	version uint32
}

type memoryValue struct {
	data    []byte
	version uint32
}

var _ Counters = (*MemoryCounters)(nil)

// NewMemoryCounters returns an empty store.
func NewMemoryCounters() *MemoryCounters {
	return &MemoryCounters{m: map[string]memoryValue{}}
}

// Get returns a copy of the value at key and its version.
func (c *MemoryCounters) Get(key string) ([]byte, uint32, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	if !ok {
		return nil, 0, false, nil
	}
	return append([]byte(nil), v.data...), v.version, true, nil
}

// Set writes value at key under the compare-and-swap rules above.
func (c *MemoryCounters) Set(key string, value []byte, version uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.m[key]
	if ok && version != 0 && version != old.version {
		return ErrVersionMismatch
	}
	c.version++
	if c.version == 0 {
		c.version = 1
	}
	c.m[key] = memoryValue{data: append([]byte(nil), value...), version: c.version}
	return nil
}

// Len is the number of entries and Bytes the bytes of keys and values held, for capacity tests.
func (c *MemoryCounters) Len() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.m {
		bytes += len(k) + len(v.data)
	}
	return len(c.m), bytes
}
