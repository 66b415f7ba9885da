package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/strictjson/strictjsontest"
)

// tokenSlot in a fuzzed configuration is replaced by the fuzzed token, so the target knows which
// string is the secret.
const tokenSlot = `"token":"$TOKEN"`

// FuzzParse (seeds in testdata/fuzz/FuzzParse): Parse never panics; every error locates its
// problem (a syntax error's offset, or a JSON path that names a place in the input) and never
// contains the data-plane token; and an accepted configuration holds what the filter relies on:
// a policy that compiles and survives the control server's encoding/json round trip, and a
// control section with a cluster, a token, an authority, a 32-byte key, and a poll timeout
// longer than the long-poll wait.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, token string) {
		quoted, _ := json.Marshal(token)
		data = bytes.ReplaceAll(data, []byte(tokenSlot), append([]byte(`"token":`), quoted...))
		cfg, err := Parse(data)
		if err != nil {
			switch {
			case len(data) == 0:
				if !errors.Is(err, ErrEmpty) {
					t.Fatalf("empty input: %v, want ErrEmpty", err)
				}
			case secretLeaks(err.Error(), token, data):
				t.Fatalf("the error names the token %q: %v", token, err)
			default:
				if problem := strictjsontest.CheckError(data, err); problem != nil {
					t.Fatalf("Parse(%q): %v", data, problem)
				}
			}
			return
		}
		if cfg.Policy == nil && cfg.Control == nil {
			t.Fatalf("accepted %q with neither a policy nor a control section", data)
		}
		if cfg.Policy != nil {
			checkPolicy(t, cfg.Policy)
		}
		if c := cfg.Control; c != nil {
			if c.Cluster == "" || c.Token == "" || c.Authority == "" || len(c.PublicKey) != ed25519.PublicKeySize ||
				c.PollIntervalMillis <= 0 || c.WaitSeconds <= 0 || c.TimeoutMillis <= c.WaitSeconds*1000 {
				t.Fatalf("accepted %q with the control section %+v", data, c)
			}
		}
	})
}

// secretLeaks reports whether msg holds the token, when the token is long enough to tell and
// appears in the configuration only where it was put (as itself or quoted).
func secretLeaks(msg, token string, data []byte) bool {
	if len(token) < 8 || bytes.Count(data, []byte(token)) != 1 {
		return false
	}
	return strings.Contains(msg, token) || strings.Contains(msg, strconv.Quote(token))
}

func checkPolicy(t *testing.T, doc *policy.Document) {
	t.Helper()
	if _, err := engine.Compile(doc); err != nil {
		t.Fatalf("an accepted policy does not compile: %v", err)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("an accepted policy does not marshal: %v", err)
	}
	again, err := policy.Parse(out)
	if err != nil {
		t.Fatalf("the marshalled policy does not parse: %v\n%s", err, out)
	}
	if out2, err := json.Marshal(again); err != nil || !bytes.Equal(out, out2) {
		t.Fatalf("round trip changed the policy (%v):\n%s\n%s", err, out, out2)
	}
}
