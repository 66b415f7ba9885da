package wasmhost

import "sync"

// queues are the shared queues of a host (proxy-wasm-cpp-host's SharedQueue): a name resolves to
// a token; registering again (another VM, or a reloaded one) keeps the data and moves
// on_queue_ready to the new registrant, as in Envoy; items come out in the order they went in.
type queues struct {
	mu      sync.Mutex
	byName  map[string]uint32
	byToken map[uint32]*queue
	next    uint32
}

type queue struct {
	items [][]byte
	owner *vm // receives proxy_on_queue_ready
}

// maxQueueItems bounds a queue nobody drains; enqueue past it is InternalFailure.
const maxQueueItems = 1 << 16

func newQueues() *queues {
	return &queues{byName: map[string]uint32{}, byToken: map[uint32]*queue{}}
}

func (q *queues) register(name string, owner *vm) uint32 {
	q.mu.Lock()
	defer q.mu.Unlock()
	t, ok := q.byName[name]
	if !ok {
		for {
			q.next++
			if q.next != 0 && q.byToken[q.next] == nil {
				break
			}
		}
		t = q.next
		q.byName[name] = t
		q.byToken[t] = &queue{}
	}
	q.byToken[t].owner = owner
	return t
}

func (q *queues) resolve(name string) (uint32, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t, ok := q.byName[name]
	return t, ok
}

func (q *queues) enqueue(token uint32, data []byte) (*vm, status) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.byToken[token]
	if e == nil {
		return nil, statusNotFound
	}
	if len(e.items) >= maxQueueItems {
		return nil, statusInternalFailure
	}
	e.items = append(e.items, append([]byte(nil), data...))
	return e.owner, statusOK
}

func (q *queues) dequeue(token uint32) ([]byte, status) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.byToken[token]
	if e == nil {
		return nil, statusNotFound
	}
	if len(e.items) == 0 {
		return nil, statusEmpty
	}
	item := e.items[0]
	e.items[0] = nil
	e.items = e.items[1:]
	return item, statusOK
}

func hostRegisterQueue(v *vm, s []uint64) status {
	name, ok := v.readString(u32(s, 0), u32(s, 1))
	if !ok {
		return statusInvalidMemoryAccess
	}
	if !v.writeU32(u32(s, 2), v.host.queues.register(name, v)) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// hostResolveQueue looks a queue up by vm id and name; an empty vm id is this host's.
func hostResolveQueue(v *vm, s []uint64) status {
	vmID, ok1 := v.readString(u32(s, 0), u32(s, 1))
	name, ok2 := v.readString(u32(s, 2), u32(s, 3))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	if vmID != "" && vmID != v.host.opts.VMID {
		return statusNotFound
	}
	t, found := v.host.queues.resolve(name)
	if !found {
		return statusNotFound
	}
	if !v.writeU32(u32(s, 4), t) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// hostEnqueue adds an item and schedules proxy_on_queue_ready on the registering VM for after
// the current callback, since that VM may be the one running it (Envoy posts it to the owner's
// event loop).
func hostEnqueue(v *vm, s []uint64) status {
	data, ok := v.view(u32(s, 1), u32(s, 2))
	if !ok {
		return statusInvalidMemoryAccess
	}
	token := u32(s, 0)
	owner, st := v.host.queues.enqueue(token, data)
	if st != statusOK {
		return st
	}
	if owner != nil {
		v.after = append(v.after, func() []afterFunc { return owner.queueReady(token) })
	}
	return statusOK
}

func hostDequeue(v *vm, s []uint64) status {
	item, st := v.host.queues.dequeue(u32(s, 0))
	if st != statusOK {
		return st
	}
	return v.copyOut(item, u32(s, 1), u32(s, 2))
}

// queueReady delivers proxy_on_queue_ready to the root context and returns the deferred work
// the callback produced, for the caller's loop to run.
func (v *vm) queueReady(token uint32) []afterFunc {
	v.mu.Lock()
	if v.exports.queueReady != nil {
		f := &frame{}
		v.call(v.exports.queueReady, f, rootContextID, uint64(token))
		v.settle(f)
	}
	acts := v.after
	v.after = nil
	v.mu.Unlock()
	return acts
}
