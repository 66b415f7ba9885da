package snapshot_test

import (
	"bytes"
	"testing"

	"github.com/portcullis/portcullis/shared/internal/testpolicy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes to a canonical payload
// that decodes to the same snapshot (compared through its canonical encoding, because "routes":
// [] and no routes are the same policy). TestRoundTrip checks field by field.
func FuzzDecode(f *testing.F) {
	doc := testPolicy(f)
	payload, err := snapshot.Encode(9, issued, doc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(payload)
	small, _ := snapshot.Encode(1, issued, testpolicy.Large(3, 2))
	f.Add(small)
	f.Add([]byte(`{"version":1,"issued_at":"2030-01-01T00:00:00Z","policy":{"version":1}}`))
	f.Add([]byte(`{"version":18446744073709551615,"issued_at":"2030-01-01T00:00:00+02:00","policy":{"version":1,"default_action":"allow"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := snapshot.Decode(data)
		if err != nil {
			return
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
