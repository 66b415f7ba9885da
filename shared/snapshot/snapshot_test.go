package snapshot_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/keytable"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
	"github.com/portcullis/portcullis/shared/strictjson"
)

var issued = time.Date(2030, 5, 6, 7, 8, 9, 10, time.UTC)

func testPolicy(t testing.TB) *policy.Document {
	t.Helper()
	data, err := os.ReadFile("testdata/policy.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := policy.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func testKey(t testing.TB, seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

func TestRoundTrip(t *testing.T) {
	doc := testPolicy(t)
	pub, priv := testKey(t, 1)
	payload, err := snapshot.Encode(42, issued, doc)
	if err != nil {
		t.Fatal(err)
	}
	sig := snapshot.Sign(priv, payload)
	if err := snapshot.Verify(pub, payload, sig); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	s, err := snapshot.Decode(payload)
	if err != nil {
		t.Fatalf("Decode(%s): %v", payload, err)
	}
	// Decode returns the keys in id order.
	slices.SortFunc(doc.Keys, func(a, b policy.Key) int { return strings.Compare(a.ID, b.ID) })
	want := &snapshot.Snapshot{Version: 42, IssuedAt: issued, Policy: doc}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("Decode =\n%+v\nwant\n%+v", s, want)
	}

	// Canonical: the same input gives the same bytes and the same signature; re-encoding the
	// decoded snapshot gives the same bytes again.
	again, _ := snapshot.Encode(42, issued, doc)
	reencoded, _ := snapshot.Encode(s.Version, s.IssuedAt, s.Policy)
	if !bytes.Equal(payload, again) || !bytes.Equal(payload, reencoded) {
		t.Fatalf("Encode is not deterministic:\n%s\n%s\n%s", payload, again, reencoded)
	}
	if snapshot.Sign(priv, again) != sig {
		t.Fatal("signatures of identical payloads differ")
	}
}

// A field added to the policy types must be added to Encode too: every field of every struct
// in the test policy is set somewhere, so the round trip above would lose it otherwise.
func TestTestPolicyCoversEveryField(t *testing.T) {
	doc := testPolicy(t)
	set := map[string]bool{}
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			walk(path, v.Elem())
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(path+"[]", v.Index(i))
			}
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				return
			}
			for i := 0; i < v.NumField(); i++ {
				p := path + "." + v.Type().Field(i).Name
				if !v.Field(i).IsZero() {
					set[p] = true
				} else if _, ok := set[p]; !ok {
					set[p] = false
				}
				walk(p, v.Field(i))
			}
		}
	}
	walk("Document", reflect.ValueOf(doc))
	for p, ok := range set {
		if !ok {
			t.Errorf("%s is never set in testdata/policy.json: set it there and make sure Encode writes it", p)
		}
	}
	if len(set) < 20 {
		t.Fatalf("walked only %d fields", len(set))
	}
}

func TestEncodeOutput(t *testing.T) {
	doc := &policy.Document{Version: 1, DefaultAction: policy.ActionDeny, DefaultLimits: policy.Limits{MaxHeaderCount: 1, MaxHeaderBytes: 2, MaxHeaderValueBytes: 2, MaxBodyBytes: 4},
		Keys: []policy.Key{{ID: "a", Name: `here "q" \ ünï`, SHA256: strings.Repeat("ab", 32)}}}
	got, err := snapshot.Encode(1, time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), doc)
	if err != nil {
		t.Fatal(err)
	}
	// The JSON holds everything but the keys; they follow as a key table.
	want := `{"version":1,"issued_at":"2030-01-02T02:04:05Z","policy":{"version":1,"default_action":"deny",` +
		`"default_limits":{"max_header_count":1,"max_header_bytes":2,"max_header_value_bytes":2,"max_body_bytes":4}}}` + "\n" + keytable.Magic
	if !strings.HasPrefix(string(got), want) {
		t.Fatalf("Encode =\n%q\nwant a prefix\n%q", got, want)
	}
	table, err := keytable.Encode(doc.Keys)
	if err != nil || string(got[len(want)-len(keytable.Magic):]) != string(table) {
		t.Fatalf("the payload does not end in the key table (%v)", err)
	}
	s, err := snapshot.DecodeCompact(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Policy.Keys) != 0 || s.Keys.Len() != 1 || s.Keys.At(0).Name() != doc.Keys[0].Name {
		t.Fatalf("DecodeCompact: %d JSON keys, table %+v", len(s.Policy.Keys), s.Keys)
	}
}

func TestEncodeRejects(t *testing.T) {
	doc := testPolicy(t)
	bad := *doc
	bad.Routes = append([]policy.Route(nil), doc.Routes...)
	bad.Routes[0].Name = "bad\xff"
	v2 := *doc
	v2.Version = 2
	for _, tc := range []struct {
		name    string
		version uint64
		at      time.Time
		doc     *policy.Document
	}{
		{"version zero", 0, issued, doc},
		{"no document", 1, issued, nil},
		{"zero time", 1, time.Time{}, doc},
		{"invalid utf-8", 1, issued, &bad},
		{"policy version 2", 1, issued, &v2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := snapshot.Encode(tc.version, tc.at, tc.doc)
			if !errors.Is(err, snapshot.ErrInvalidInput) || out != nil {
				t.Fatalf("Encode = %q, %v; want ErrInvalidInput", out, err)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	doc := testPolicy(t)
	pub, priv := testKey(t, 1)
	otherPub, otherPriv := testKey(t, 2)
	payload, _ := snapshot.Encode(3, issued, doc)
	sig := snapshot.Sign(priv, payload)
	raw, _ := base64.StdEncoding.DecodeString(sig)

	tampered := bytes.Clone(payload)
	tampered[bytes.Index(tampered, []byte(`"version":3`))+10] = '4'
	flipped := bytes.Clone(raw)
	flipped[10] ^= 1
	// A signature over the payload without the domain prefix must not verify: the prefix is
	// what ties the signature to this use.
	undomained := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, payload))

	for _, tc := range []struct {
		name    string
		pub     ed25519.PublicKey
		payload []byte
		sig     string
		want    error
	}{
		{"tampered payload", pub, tampered, sig, snapshot.ErrBadSignature},
		{"appended payload", pub, append(bytes.Clone(payload), ' '), sig, snapshot.ErrBadSignature},
		{"tampered signature", pub, payload, base64.StdEncoding.EncodeToString(flipped), snapshot.ErrBadSignature},
		{"wrong key", otherPub, payload, sig, snapshot.ErrBadSignature},
		{"signed by another key", pub, payload, snapshot.Sign(otherPriv, payload), snapshot.ErrBadSignature},
		{"signature without domain prefix", pub, payload, undomained, snapshot.ErrBadSignature},
		{"empty signature", pub, payload, "", snapshot.ErrNoSignature},
		{"not base64", pub, payload, "!!!!" + sig[4:], snapshot.ErrMalformedSignature},
		{"url-safe alphabet", pub, payload, strings.NewReplacer("+", "-", "/", "_").Replace(sig) + "-_", snapshot.ErrMalformedSignature},
		{"short signature", pub, payload, base64.StdEncoding.EncodeToString(raw[:63]), snapshot.ErrMalformedSignature},
		{"long signature", pub, payload, base64.StdEncoding.EncodeToString(append(bytes.Clone(raw), 0)), snapshot.ErrMalformedSignature},
		{"huge signature", pub, payload, strings.Repeat("A", 1<<16), snapshot.ErrMalformedSignature},
		{"nil public key", nil, payload, sig, snapshot.ErrBadPublicKey},
		{"short public key", pub[:31], payload, sig, snapshot.ErrBadPublicKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := snapshot.Verify(tc.pub, tc.payload, tc.sig); !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	const pol = `{"version":1}`
	for _, tc := range []struct {
		name, payload, want string
	}{
		{"empty", ``, "empty payload"},
		{"syntax", `{"version":1,`, "invalid JSON at byte 13"},
		{"not an object", `[]`, "must be an object, not array"},
		{"missing everything", `{}`, "version: required; issued_at: required; policy: required"},
		{"version zero", `{"version":0,"issued_at":"2030-01-01T00:00:00Z","policy":` + pol + `}`, "version: must be a positive integer"},
		{"version negative", `{"version":-1,"issued_at":"2030-01-01T00:00:00Z","policy":` + pol + `}`, "version: must be a positive integer"},
		{"version fraction", `{"version":1.5,"issued_at":"2030-01-01T00:00:00Z","policy":` + pol + `}`, "version: must be a positive integer"},
		{"version too large", `{"version":18446744073709551616,"issued_at":"2030-01-01T00:00:00Z","policy":` + pol + `}`, "version: must be a positive integer"},
		{"version string", `{"version":"1","issued_at":"2030-01-01T00:00:00Z","policy":` + pol + `}`, "version: must be a positive integer, not string"},
		{"issued_at not a time", `{"version":1,"issued_at":"yesterday","policy":` + pol + `}`, "issued_at: must be an RFC 3339 timestamp"},
		{"unknown field", `{"version":1,"issued_at":"2030-01-01T00:00:00Z","policy":` + pol + `,"extra":1}`, "extra: unknown field"},
		{"duplicate field", `{"version":1,"version":2,"issued_at":"2030-01-01T00:00:00Z","policy":` + pol + `}`, "version: duplicate field"},
		{"policy not an object", `{"version":1,"issued_at":"2030-01-01T00:00:00Z","policy":[]}`, "policy: must be an object, not array"},
		{"unknown policy field", `{"version":1,"issued_at":"2030-01-01T00:00:00Z","policy":{"version":1,"routes":[{"name":"a","auth":{"type":"none"},"x":1}]}}`, "policy.routes[0].x: unknown field"},
		{"invalid policy", `{"version":1,"issued_at":"2030-01-01T00:00:00Z","policy":{"version":1,"keys":[{"id":"k"}]}}`, "policy.keys[0].sha256: required"},
		{"policy version 2", `{"version":1,"issued_at":"2030-01-01T00:00:00Z","policy":{"version":2}}`, "policy.version: must be 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := snapshot.Decode([]byte(tc.payload))
			if err == nil || s != nil {
				t.Fatalf("Decode = %+v, nil; want an error", s)
			}
			if !errors.Is(err, snapshot.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode error = %q; want ErrMalformed containing %q", err, tc.want)
			}
		})
	}
}

func TestDecodeErrorsKeepTheirType(t *testing.T) {
	_, err := snapshot.Decode([]byte(`{"version":1,"issued_at":"2030-01-01T00:00:00Z","policy":{"version":1,"routes":[{"name":""}]}}`))
	var fe *strictjson.Errors
	if !errors.As(err, &fe) || len(fe.List) != 2 || fe.List[0].Path != "policy.routes[0].auth" || fe.List[1].Path != "policy.routes[0].name" {
		t.Fatalf("error %v does not carry path-qualified *strictjson.Errors", err)
	}
	_, err = snapshot.Decode([]byte(`{`))
	var se *strictjson.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v does not carry *strictjson.SyntaxError", err)
	}
}

func TestParsePublicKey(t *testing.T) {
	pub, _ := testKey(t, 7)
	s := snapshot.FormatPublicKey(pub)
	got, err := snapshot.ParsePublicKey(s)
	if err != nil || !got.Equal(pub) {
		t.Fatalf("ParsePublicKey(%q) = %x, %v", s, got, err)
	}
	for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString(pub[:31]),
		base64.StdEncoding.EncodeToString(append(bytes.Clone(pub), 0)), base64.RawStdEncoding.EncodeToString(pub), " " + s} {
		if k, err := snapshot.ParsePublicKey(bad); !errors.Is(err, snapshot.ErrBadPublicKey) || k != nil {
			t.Errorf("ParsePublicKey(%q) = %x, %v; want ErrBadPublicKey", bad, k, err)
		}
	}
}

func TestParseUsage(t *testing.T) {
	at := func(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
	type uses = map[string]snapshot.Use
	for _, tc := range []struct {
		in   string
		want uses
		err  bool
	}{
		{"", uses{}, false},
		{"k1=3", uses{"k1": {Count: 3}}, false},
		{"k1=3,key_2.x-y=10", uses{"k1": {Count: 3}, "key_2.x-y": {Count: 10}}, false},
		{" k1=3 , k2=0 ,", uses{"k1": {Count: 3}, "k2": {Count: 0}}, false},
		{"k1=3,k1=4", uses{"k1": {Count: 7}}, false},
		{"k1=18446744073709551615,k1=1", uses{"k1": {Count: 1<<64 - 1}}, false},
		{"k1=3@1893456000123", uses{"k1": {Count: 3, Last: at(1893456000123)}}, false},
		{"k1=3@1893456000123,k1=1@1893456000100,k1=1", uses{"k1": {Count: 5, Last: at(1893456000123)}}, false},
		{"k1=1@0", uses{"k1": {Count: 1, Last: at(0)}}, false},
		{"k1", nil, true},
		{"=3", nil, true},
		{"k1=", nil, true},
		{"k1=-1", nil, true},
		{"k1=1.5", nil, true},
		{"k 1=1", nil, true},
		{"k1=1=2", nil, true},
		{"k1=18446744073709551616", nil, true},
		{"k1=1@", nil, true},
		{"k1=1@-5", nil, true},
		{"k1=1@12.5", nil, true},
		{"k1=1@1@2", nil, true},
		{"k1=1@253402300800000", nil, true},
		{strings.Repeat("k=1,", snapshot.MaxUsageBytes/4+1), nil, true},
	} {
		got, err := snapshot.ParseUsage(tc.in)
		if tc.err {
			if !errors.Is(err, snapshot.ErrMalformedUsage) || got != nil {
				t.Errorf("ParseUsage(%.30q) = %v, %v; want ErrMalformedUsage", tc.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseUsage(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestEncodeUsage: what EncodeUsage writes, ParseUsage reads back (times to the millisecond);
// under a limit it writes what fits, says what it took, and never exceeds the limit.
func TestEncodeUsage(t *testing.T) {
	last := time.Date(2030, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	in := map[string]snapshot.Use{"a": {Count: 1, Last: last}, "b-key": {Count: 123456}, "c.x": {Count: 0, Last: last.Add(time.Hour)}}
	got, err := snapshot.ParseUsage(string(snapshot.EncodeUsage(in, 0, nil)))
	want := map[string]snapshot.Use{"a": {Count: 1, Last: last.Truncate(time.Millisecond)}, "b-key": {Count: 123456},
		"c.x": {Count: 0, Last: last.Add(time.Hour).Truncate(time.Millisecond)}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip = %v, %v; want %v", got, err, want)
	}
	for id, u := range in {
		if n := snapshot.UsageEntryLen(id, u); n != len(snapshot.EncodeUsage(map[string]snapshot.Use{id: u}, 0, nil)) {
			t.Errorf("UsageEntryLen(%s) = %d", id, n)
		}
	}
	many := map[string]snapshot.Use{}
	for i := range 1000 {
		many[fmt.Sprintf("key-%04d", i)] = snapshot.Use{Count: uint64(i), Last: last.Truncate(time.Millisecond)}
	}
	taken := map[string]snapshot.Use{}
	h := snapshot.EncodeUsage(many, 512, taken)
	back, err := snapshot.ParseUsage(string(h))
	if len(h) > 512 || err != nil || len(taken) == 0 || !reflect.DeepEqual(back, taken) {
		t.Fatalf("limited report: %d bytes, %d taken, parsed %d, %v", len(h), len(taken), len(back), err)
	}
}
