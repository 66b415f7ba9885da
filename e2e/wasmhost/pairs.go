package wasmhost

import "encoding/binary"

// The proxy-wasm map serialization: a little-endian uint32 count, then count pairs of uint32
// key and value sizes, then each key and value followed by a NUL byte.

// pairsSize returns the serialized size of pairs.
func pairsSize(pairs [][2]string) int {
	n := 4
	for _, kv := range pairs {
		n += 8 + len(kv[0]) + len(kv[1]) + 2
	}
	return n
}

// appendPairs serializes pairs onto dst.
func appendPairs(dst []byte, pairs [][2]string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(pairs)))
	for _, kv := range pairs {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(kv[0])))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(kv[1])))
	}
	for _, kv := range pairs {
		dst = append(dst, kv[0]...)
		dst = append(dst, 0)
		dst = append(dst, kv[1]...)
		dst = append(dst, 0)
	}
	return dst
}

// parsePairs decodes a serialized map, copying every string out of b (b is usually a view of
// guest memory). Empty input is an empty map; anything that does not add up is rejected rather
// than guessed at.
func parsePairs(b []byte) ([][2]string, bool) {
	if len(b) == 0 {
		return nil, true
	}
	if len(b) < 4 {
		return nil, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	// Every pair needs 8 size bytes and 2 NULs, which bounds n by the input before allocating.
	if n > (len(b)-4)/10 {
		return nil, false
	}
	sizes := b[4:]
	data := 4 + 8*n
	out := make([][2]string, n)
	for i := 0; i < n; i++ {
		k := int(binary.LittleEndian.Uint32(sizes[8*i:]))
		v := int(binary.LittleEndian.Uint32(sizes[8*i+4:]))
		if k < 0 || v < 0 || data+k+1+v+1 > len(b) || data+k+1+v+1 < data {
			return nil, false
		}
		out[i][0] = string(b[data : data+k])
		data += k + 1
		out[i][1] = string(b[data : data+v])
		data += v + 1
	}
	return out, true
}
