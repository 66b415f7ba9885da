package keytable_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/keytable"
	"github.com/portcullis/portcullis/shared/policy"
)

func hashOf(raw string) string {
	s := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(s[:])
}

// sample holds every field in every form: flags, expiry with nanoseconds, lists, tiers.
func sample() []policy.Key {
	exp := time.Date(2031, 1, 1, 0, 0, 0, 123456789, time.UTC)
	return []policy.Key{
		{ID: "k-a", Name: `CI "robot" ünï`, SHA256: hashOf("a"), Active: true, AllowedPaths: []string{"/api/builds", "/api/x/"},
			Permissions: []string{"builds:write", "builds:read"}, Admin: true, ExpiresAt: exp, Tier: "gold"},
		{ID: "k-b", SHA256: hashOf("b"), Staff: true, Tier: "silver"},
		{ID: "k-c", Name: "c", SHA256: hashOf("c"), Active: true, Permissions: []string{"builds:read"}, AllowedPaths: []string{"/api/x/"}},
	}
}

func parse(t testing.TB, keys []policy.Key) *keytable.Table {
	t.Helper()
	b, err := keytable.Encode(keys)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := keytable.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestRoundTrip(t *testing.T) {
	keys := sample()
	tb := parse(t, keys)
	if tb.Len() != len(keys) || !reflect.DeepEqual(tb.Tiers(), []string{"gold", "silver"}) {
		t.Fatalf("Len %d, Tiers %v", tb.Len(), tb.Tiers())
	}
	for _, want := range keys {
		var sum [32]byte
		hex.Decode(sum[:], []byte(want.SHA256))
		i := tb.Find(&sum)
		if i < 0 {
			t.Fatalf("%s not found", want.ID)
		}
		if got := tb.At(i).Policy(); !reflect.DeepEqual(got, want) {
			t.Errorf("key %d =\n%+v\nwant\n%+v", i, got, want)
		}
	}
	if !tb.UsesTier(0) || !tb.UsesTier(1) || !tb.UsesTier(2) || tb.UsesTier(3) {
		t.Errorf("UsesTier wrong")
	}
}

func TestEncodeIsDeterministic(t *testing.T) {
	keys := sample()
	a, _ := keytable.Encode(keys)
	slices.Reverse(keys)
	b, _ := keytable.Encode(keys)
	if !bytes.Equal(a, b) {
		t.Fatal("the same keys in another order encode differently")
	}
}

// Find is exact at every size: every key is found, and hashes that share a bucket, a prefix or
// lie beyond both ends are not.
func TestFind(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 17, 1000, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			keys := make([]policy.Key, n)
			for i := range keys {
				keys[i] = policy.Key{ID: fmt.Sprintf("k%d", i), SHA256: hashOf(fmt.Sprint(i)), Active: true}
			}
			tb := parse(t, keys)
			for i := range keys {
				sum := sha256.Sum256([]byte(fmt.Sprint(i)))
				j := tb.Find(&sum)
				if j < 0 || tb.At(j).ID() != keys[i].ID {
					t.Fatalf("key %d: Find = %d", i, j)
				}
				sum[31] ^= 1 // same bucket, same prefix, another key
				if j := tb.Find(&sum); j >= 0 {
					t.Fatalf("a near miss of key %d found record %d", i, j)
				}
			}
			for _, miss := range [][32]byte{{}, {0: 0xff, 31: 0xff}, bytes32(0xff)} {
				if j := tb.Find(&miss); j >= 0 {
					t.Fatalf("%x found record %d", miss, j)
				}
			}
		})
	}
}

func bytes32(b byte) (a [32]byte) {
	for i := range a {
		a[i] = b
	}
	return a
}

func TestEncodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(k []policy.Key)
		want string
	}{
		{"short hash", func(k []policy.Key) { k[0].SHA256 = "abc" }, "keys[0].sha256 is not 64 hex digits"},
		{"not hex", func(k []policy.Key) { k[0].SHA256 = strings.Repeat("zz", 32) }, "keys[0].sha256 is not 64 hex digits"},
		{"duplicate hash", func(k []policy.Key) { k[2].SHA256 = k[0].SHA256 }, "duplicates"},
		{"permission with a comma", func(k []policy.Key) { k[0].Permissions = []string{"a,b"} }, "keys[0].permissions[0]"},
		{"path with a space", func(k []policy.Key) { k[2].AllowedPaths = []string{"/a b"} }, "keys[2].allowed_paths[0]"},
		{"empty permission", func(k []policy.Key) { k[1].Permissions = []string{""} }, "keys[1].permissions[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := sample()
			tc.mut(k)
			b, err := keytable.Encode(k)
			if !errors.Is(err, keytable.ErrInvalidKeys) || !strings.Contains(err.Error(), tc.want) || b != nil {
				t.Fatalf("Encode = %d bytes, %v; want an error with %q", len(b), err, tc.want)
			}
		})
	}
}

// layout helpers: where the first record and the pool start in sample's encoding.
const header = len(keytable.Magic) + 12

func TestParseRejects(t *testing.T) {
	good, err := keytable.Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	tiers := int(binary.LittleEndian.Uint32(good[len(keytable.Magic)+4:]))
	rec := header + tiers*8 // first record
	pool := rec + 3*keytable.RecordSize
	le := binary.LittleEndian
	for _, tc := range []struct {
		name string
		mut  func(b []byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }},
		{"count too large", func(b []byte) []byte { le.PutUint32(b[len(keytable.Magic):], 0xffffffff); return b }},
		{"too many tiers", func(b []byte) []byte { le.PutUint32(b[len(keytable.Magic)+4:], 0xffffffff); return b }},
		{"pool length wrong", func(b []byte) []byte { le.PutUint32(b[len(keytable.Magic)+8:], 1); return b }},
		{"duplicate hash", func(b []byte) []byte { copy(b[rec+keytable.RecordSize:], b[rec:rec+32]); return b }},
		{"descending hashes", func(b []byte) []byte { b[rec] = 0xff; return b }},
		{"unknown flag", func(b []byte) []byte { b[rec+44] |= 0x80; return b }},
		{"reserved byte", func(b []byte) []byte { b[rec+45] = 1; return b }},
		{"nanoseconds out of range", func(b []byte) []byte {
			for i := range 3 {
				le.PutUint32(b[rec+i*keytable.RecordSize+40:], 1e9)
			}
			return b
		}},
		{"expiry without flag", func(b []byte) []byte {
			for i := range 3 {
				r := b[rec+i*keytable.RecordSize:]
				r[44] &^= 8
				le.PutUint64(r[32:], 5)
			}
			return b
		}},
		{"tier out of range", func(b []byte) []byte { le.PutUint16(b[rec+46:], 9); return b }},
		{"id out of the pool", func(b []byte) []byte { le.PutUint32(b[rec+48:], uint32(len(b))); return b }},
		{"ref length overflows", func(b []byte) []byte { le.PutUint32(b[rec+52:], 0xffffffff); return b }},
		{"empty id", func(b []byte) []byte { le.PutUint32(b[rec+52:], 0); return b }},
		{"invalid id", func(b []byte) []byte { b[pool+bytes.Index(b[pool:], []byte("k-"))] = '-'; return b }},
		{"control character in a name", func(b []byte) []byte { b[pool+bytes.Index(b[pool:], []byte("robot"))] = '\n'; return b }},
		{"invalid permission", func(b []byte) []byte { b[pool+bytes.Index(b[pool:], []byte("builds:read"))] = '!'; return b }},
		{"invalid path", func(b []byte) []byte { copy(b[pool+bytes.Index(b[pool:], []byte("/api/x/")):], "/../x/"); return b }},
		{"empty tier name", func(b []byte) []byte { le.PutUint32(b[header+4:], 0); return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mut(bytes.Clone(good))
			tb, err := keytable.Parse(b)
			if !errors.Is(err, keytable.ErrMalformed) || tb != nil {
				t.Fatalf("Parse = %v, %v; want ErrMalformed", tb, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	good, _ := keytable.Encode(sample())
	f.Add(good)
	empty, _ := keytable.Encode(nil)
	f.Add(empty)
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := keytable.Parse(b)
		if err != nil {
			return
		}
		// What Parse accepts re-encodes to the same bytes (the encoding is canonical up to
		// the pool's layout) and every record is found by its hash.
		keys := make([]policy.Key, tb.Len())
		for i := range keys {
			keys[i] = tb.At(i).Policy()
			h := tb.At(i).Hash()
			if tb.Find(&h) != i {
				t.Fatalf("record %d not found by its hash", i)
			}
		}
		again, err := keytable.Encode(keys)
		if err != nil {
			t.Fatalf("a parsed table does not encode: %v", err)
		}
		if _, err := keytable.Parse(again); err != nil {
			t.Fatalf("a re-encoded table does not parse: %v", err)
		}
	})
}
