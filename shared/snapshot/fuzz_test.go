package snapshot_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/internal/testpolicy"
	"github.com/portcullis/portcullis/shared/snapshot"
	"github.com/portcullis/portcullis/shared/strictjson/strictjsontest"
)

// FuzzDecode (seeds in testdata/fuzz/FuzzDecode): Decode never panics; every error locates its
// problem (a syntax error's offset, or a JSON path that names a place in the payload); and
// whatever it accepts compiles, and re-encodes to a canonical payload that decodes to the same
// snapshot (compared through its canonical encoding, because "routes": [] and no routes are the
// same policy). TestRoundTrip checks field by field.
func FuzzDecode(f *testing.F) {
	doc := testPolicy(f)
	payload, err := snapshot.Encode(9, issued, doc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(payload)
	small, _ := snapshot.Encode(1, issued, testpolicy.Large(3, 2))
	f.Add(small)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := snapshot.Decode(data)
		if err != nil {
			if !errors.Is(err, snapshot.ErrMalformed) {
				t.Fatalf("Decode(%q) = %v, not ErrMalformed", data, err)
			}
			if len(data) > 0 {
				if problem := strictjsontest.CheckError(data, err); problem != nil {
					t.Fatalf("Decode(%q): %v", data, problem)
				}
			}
			return
		}
		if _, err := engine.Compile(s.Policy); err != nil {
			t.Fatalf("accepted %q but its policy does not compile: %v", data, err)
		}
		out, err := snapshot.Encode(s.Version, s.IssuedAt, s.Policy)
		if err != nil {
			t.Fatalf("accepted %q but cannot re-encode it: %v", data, err)
		}
		again, err := snapshot.Decode(out)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", out, err)
		}
		if again.Version != s.Version || !again.IssuedAt.Equal(s.IssuedAt) ||
			len(again.Policy.Routes) != len(s.Policy.Routes) || len(again.Policy.Keys) != len(s.Policy.Keys) {
			t.Fatalf("round trip changed the snapshot:\n%+v\n%+v", s, again)
		}
		out2, _ := snapshot.Encode(again.Version, again.IssuedAt, again.Policy)
		if !bytes.Equal(out, out2) {
			t.Fatalf("encoding is not canonical:\n%s\n%s", out, out2)
		}
	})
}

// FuzzVerify (seeds in testdata/fuzz/FuzzVerify): against one signed payload, Verify accepts
// only that payload with that signature (as bytes: base64 has more than one spelling of them),
// and answers anything else with one of its sentinel errors. Verify under a key of any length,
// and ParsePublicKey of any string, never panic; a key ParsePublicKey accepts is 32 bytes and
// survives FormatPublicKey.
func FuzzVerify(f *testing.F) {
	pub, priv := testKey(f, 7)
	signed := []byte(`{"version":1,"issued_at":"2030-01-01T00:00:00Z","policy":{"version":1}}`)
	sig := snapshot.Sign(priv, signed)
	raw, _ := base64.StdEncoding.DecodeString(sig)
	f.Add(signed, sig, snapshot.FormatPublicKey(pub))
	f.Fuzz(func(t *testing.T, payload []byte, s, key string) {
		err := snapshot.Verify(pub, payload, s)
		if err == nil {
			got, derr := base64.StdEncoding.DecodeString(s)
			if !bytes.Equal(payload, signed) || derr != nil || !bytes.Equal(got, raw) {
				t.Fatalf("Verify accepted payload %q with signature %q", payload, s)
			}
		} else if !slices.ContainsFunc([]error{snapshot.ErrNoSignature, snapshot.ErrMalformedSignature, snapshot.ErrBadSignature}, func(e error) bool { return errors.Is(err, e) }) {
			t.Fatalf("Verify(%q, %q) = %v, not a sentinel error", payload, s, err)
		}
		if err := snapshot.Verify(ed25519.PublicKey(key), payload, s); len(key) != ed25519.PublicKeySize && !errors.Is(err, snapshot.ErrBadPublicKey) {
			t.Fatalf("Verify under a %d-byte key = %v", len(key), err)
		}
		k, err := snapshot.ParsePublicKey(key)
		if err != nil {
			if !errors.Is(err, snapshot.ErrBadPublicKey) {
				t.Fatalf("ParsePublicKey(%q) = %v", key, err)
			}
			return
		}
		if again, err := snapshot.ParsePublicKey(snapshot.FormatPublicKey(k)); len(k) != ed25519.PublicKeySize || err != nil || !bytes.Equal(again, k) {
			t.Fatalf("ParsePublicKey(%q) = %x, which does not survive formatting (%v)", key, k, err)
		}
	})
}

// FuzzParseUsage (seeds in testdata/fuzz/FuzzParseUsage): ParseUsage never panics; refuses
// over-long values; every error is ErrMalformedUsage with a short message (it is logged, and
// the value is client-controlled); and whatever it accepts holds only valid ids, formats back
// into a value that parses to the same counts, and counts one more for an id reported once more.
func FuzzParseUsage(f *testing.F) {
	f.Fuzz(func(t *testing.T, h string) {
		counts, err := snapshot.ParseUsage(h)
		if err != nil {
			if !errors.Is(err, snapshot.ErrMalformedUsage) || len(err.Error()) > 300 {
				t.Fatalf("ParseUsage(%.40q) = %q (%d bytes)", h, err, len(err.Error()))
			}
			return
		}
		if len(h) > snapshot.MaxUsageBytes {
			t.Fatalf("accepted %d bytes, more than %d", len(h), snapshot.MaxUsageBytes)
		}
		var parts []string
		for _, id := range slices.Sorted(maps.Keys(counts)) {
			if !validKeyID(id) {
				t.Fatalf("ParseUsage(%q) holds the id %q", h, id)
			}
			u := counts[id]
			if u.Last.IsZero() {
				parts = append(parts, fmt.Sprintf("%s=%d", id, u.Count))
			} else {
				parts = append(parts, fmt.Sprintf("%s=%d@%d", id, u.Count, u.Last.UnixMilli()))
			}
		}
		again, err := snapshot.ParseUsage(strings.Join(parts, ","))
		if err != nil || !maps.Equal(again, counts) {
			t.Fatalf("ParseUsage(%q) = %v; formatted back it parses to %v, %v", h, counts, again, err)
		}
		for id, u := range counts {
			more, err := snapshot.ParseUsage(h + "," + id + "=1")
			want := u.Count + 1
			if u.Count == math.MaxUint64 {
				want = u.Count // saturated
			}
			if len(h)+len(id)+3 <= snapshot.MaxUsageBytes && (err != nil || more[id].Count != want) {
				t.Fatalf("ParseUsage(%q + \",%s=1\") counts %d (%v), want %d", h, id, more[id].Count, err, want)
			}
			break // one id is enough
		}
	})
}

// validKeyID: 1-128 of letters, digits, '.', '_', '-' (the ids ParseUsage documents).
func validKeyID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
