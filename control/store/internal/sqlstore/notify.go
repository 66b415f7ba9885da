package sqlstore

import "sync"

// notifier fans change signals out to subscribers without ever blocking the sender: each
// subscriber has a one-slot buffer, so a burst of changes collapses into one wake-up.
type notifier struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
	// seen is the highest version announced so far. A replica hears its own commits twice
	// (directly, then as the echo of its pg_notify); the echo must not wake anyone again.
	seen uint64
}

func (n *notifier) subscribe() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	n.mu.Lock()
	if n.subs == nil {
		n.subs = make(map[chan struct{}]struct{})
	}
	n.subs[c] = struct{}{}
	n.mu.Unlock()
	return c, func() {
		n.mu.Lock()
		delete(n.subs, c)
		n.mu.Unlock()
	}
}

// Notify wakes every subscriber.
func (n *notifier) Notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.wake()
}

// NotifyVersion wakes every subscriber if version is newer than any announced before.
func (n *notifier) NotifyVersion(version uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if version <= n.seen {
		return
	}
	n.seen = version
	n.wake()
}

// wake signals each subscriber; n.mu is held.
func (n *notifier) wake() {
	for c := range n.subs {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}
