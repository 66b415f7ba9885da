package engine

import (
	"encoding/binary"
	"encoding/hex"
	"testing"
)

// TestSipHash128Vectors checks the reference implementation's vectors (vectors_sip128 of
// github.com/veorq/SipHash): key 00 01 … 0f, message 00 01 … (n-1). The lengths cover an empty
// message, a partial block, exactly one block, one byte short of two, two blocks and the
// longest vector.
func TestSipHash128Vectors(t *testing.T) {
	var key [16]byte
	var msg [64]byte
	for i := range key {
		key[i] = byte(i)
	}
	for i := range msg {
		msg[i] = byte(i)
	}
	k0, k1 := binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:])
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "a3817f04ba25a8e66df67214c7550293"},
		{1, "da87c1d86b99af44347659119b22fc45"},
		{7, "a1f1ebbed8dbc153c0b84aa61ff08239"},
		{8, "3b62a9ba6258f5610f83e264f31497b4"},
		{15, "5493e99933b0a8117e08ec0f97cfc3d9"},
		{16, "6ee2a4ca67b054bbfd3315bf85230577"},
		{63, "5150d1772f50834a503e069a973fbd7c"},
	} {
		h := sipHash128(k0, k1, string(msg[:tc.n]))
		var out [16]byte
		binary.LittleEndian.PutUint64(out[:8], h[0])
		binary.LittleEndian.PutUint64(out[8:], h[1])
		if got := hex.EncodeToString(out[:]); got != tc.want {
			t.Errorf("length %d: %s, want %s", tc.n, got, tc.want)
		}
	}
}
