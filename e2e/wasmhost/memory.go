package wasmhost

import "unsafe"

// Guest memory access. Every pointer comes from the guest, so every access is bounds-checked
// and a bad one becomes InvalidMemoryAccess for the guest, never a host panic.

// view returns size bytes of guest memory at ptr without copying; it is valid only until the
// guest runs again (memory may grow and move).
func (v *vm) view(ptr, size uint32) ([]byte, bool) {
	if size == 0 {
		return nil, true
	}
	return v.mod.Memory().Read(ptr, size)
}

// readString copies a string out of guest memory.
func (v *vm) readString(ptr, size uint32) (string, bool) {
	b, ok := v.view(ptr, size)
	return string(b), ok
}

func (v *vm) writeU32(ptr, value uint32) bool { return v.mod.Memory().WriteUint32Le(ptr, value) }

func (v *vm) writeU64(ptr uint32, value uint64) bool {
	return v.mod.Memory().WriteUint64Le(ptr, value)
}

// copyOut hands data to the guest the way proxy-wasm-cpp-host's copyToPointerSize does:
// memory from the guest's proxy_on_memory_allocate, its address and size written to ptrPtr and
// sizePtr. Empty data writes a null pointer and zero size without allocating (the SDK's
// allocator cannot allocate zero bytes).
func (v *vm) copyOut(data []byte, ptrPtr, sizePtr uint32) status {
	var ptr uint32
	if len(data) > 0 {
		p, ok := v.allocate(uint32(len(data)))
		if !ok || !v.mod.Memory().Write(p, data) {
			return statusInvalidMemoryAccess
		}
		ptr = p
	}
	if !v.writeU32(ptrPtr, ptr) || !v.writeU32(sizePtr, uint32(len(data))) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// allocate calls the guest's allocator. This re-enters the guest from inside a host call, which
// proxy-wasm hosts do for every value they return. A trap here fails the VM.
func (v *vm) allocate(size uint32) (uint32, bool) {
	if v.exports.alloc == nil {
		return 0, false
	}
	v.allocStack[0] = uint64(size)
	if err := v.exports.alloc.CallWithStack(v.callCtx, v.allocStack[:]); err != nil {
		v.fail(err)
		return 0, false
	}
	return uint32(v.allocStack[0]), true
}

// stringBytes views s as bytes without copying; the result must not be modified.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
