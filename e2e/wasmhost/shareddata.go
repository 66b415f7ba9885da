package wasmhost

import "sync"

// sharedData is the key-value store every VM of a host shares (Envoy's per-vm_id shared data),
// with proxy-wasm-cpp-host's compare-and-swap rules: each write gets a new cas; a write with a
// non-zero cas that differs from the key's current cas is CasMismatch; cas 0 writes
// unconditionally; a key that does not exist yet is written whatever the cas.
type sharedData struct {
	mu    sync.Mutex
	m     map[string]sharedValue
	cas   uint32
	bytes int
}

type sharedValue struct {
	data []byte // never modified after it is stored, so readers may keep it
	cas  uint32
}

// maxSharedDataBytes bounds keys plus values; a write past it is InternalFailure rather than
// unbounded growth.
const maxSharedDataBytes = 256 << 20

func newSharedData() *sharedData { return &sharedData{m: map[string]sharedValue{}, cas: 1} }

func (d *sharedData) get(key string) (sharedValue, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.m[key]
	return v, ok
}

func (d *sharedData) set(key string, data []byte, cas uint32) status {
	d.mu.Lock()
	defer d.mu.Unlock()
	old, exists := d.m[key]
	if exists && cas != 0 && cas != old.cas {
		return statusCasMismatch
	}
	grow := len(data) - len(old.data)
	if !exists {
		grow += len(key)
	}
	if d.bytes+grow > maxSharedDataBytes {
		return statusInternalFailure
	}
	d.bytes += grow
	d.m[key] = sharedValue{data: append([]byte(nil), data...), cas: d.nextCas()}
	return statusOK
}

// nextCas hands out cas values, skipping 0 (which means "no check") on wrap-around.
func (d *sharedData) nextCas() uint32 {
	c := d.cas
	d.cas++
	if d.cas == 0 {
		d.cas = 1
	}
	return c
}

func hostGetSharedData(v *vm, s []uint64) status {
	key, ok := v.readString(u32(s, 0), u32(s, 1))
	if !ok {
		return statusInvalidMemoryAccess
	}
	val, found := v.host.shared.get(key)
	if !found {
		return statusNotFound
	}
	if st := v.copyOut(val.data, u32(s, 2), u32(s, 3)); st != statusOK {
		return st
	}
	if !v.writeU32(u32(s, 4), val.cas) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

func hostSetSharedData(v *vm, s []uint64) status {
	key, ok := v.readString(u32(s, 0), u32(s, 1))
	if !ok {
		return statusInvalidMemoryAccess
	}
	data, ok := v.view(u32(s, 2), u32(s, 3))
	if !ok {
		return statusInvalidMemoryAccess
	}
	return v.host.shared.set(key, data, u32(s, 4))
}
