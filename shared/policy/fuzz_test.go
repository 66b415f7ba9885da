package policy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson/strictjsontest"
)

// FuzzParse (seeds in testdata/fuzz/FuzzParse): Parse never panics; every error locates its
// problem (a syntax error's offset, or a JSON path that names a place in the input); and every
// document it accepts compiles, and survives the control server's round trip: encoding/json of
// the Document parses back to an equal document, whose encoding is byte-identical.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := policy.Parse(data)
		if err != nil {
			if doc != nil {
				t.Fatalf("Parse returned a document with the error %v", err)
			}
			if len(data) == 0 {
				if !errors.Is(err, policy.ErrEmpty) {
					t.Fatalf("empty input: %v, want ErrEmpty", err)
				}
				return
			}
			if problem := strictjsontest.CheckError(data, err); problem != nil {
				t.Fatalf("Parse(%q): %v", data, problem)
			}
			return
		}
		checkRoundTrip(t, doc)
	})
}

// checkRoundTrip checks a document that parsed: it compiles into an engine, and encoding/json
// of it (what the control server stores and serves) parses back to an equal document whose
// encoding is byte-identical.
func checkRoundTrip(t *testing.T, doc *policy.Document) {
	t.Helper()
	if _, err := engine.Compile(doc); err != nil {
		t.Fatalf("a parsed document does not compile: %v\n%+v", err, doc)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("a parsed document does not marshal: %v\n%+v", err, doc)
	}
	again, err := policy.Parse(out)
	if err != nil {
		t.Fatalf("the marshalled document does not parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(inUTC(doc), inUTC(again)) {
		t.Fatalf("round trip changed the document:\n%+v\n%+v", doc, again)
	}
	out2, err := json.Marshal(again)
	if err != nil || !bytes.Equal(out, out2) {
		t.Fatalf("encoding is not stable (%v):\n%s\n%s", err, out, out2)
	}
}

// inUTC copies doc with its times in UTC: a time's zone is presentation (the document's
// "+02:00"), and reflect.DeepEqual would compare the *time.Location pointers.
func inUTC(doc *policy.Document) policy.Document {
	d := *doc
	d.Keys = append([]policy.Key(nil), doc.Keys...)
	for i := range d.Keys {
		d.Keys[i].ExpiresAt = d.Keys[i].ExpiresAt.UTC()
	}
	return d
}
