package snapshot_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// TestDeltaWebhooks: verifiers travel in deltas, canonically encoded and validated as a
// policy's are; a delta without them keeps the shape a filter without verifier deltas reads.
func TestDeltaWebhooks(t *testing.T) {
	d := &snapshot.Delta{Base: 1, Version: 2, IssuedAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Changes: &policy.Changes{
		PutWebhooks:    []policy.Webhook{{Name: "gh", Preset: "github", Secret: "whsec-current-secret-01", NextSecret: "whsec-next-secret-0002", ToleranceSeconds: 60}},
		RemoveWebhooks: []string{"old"},
	}}
	payload, err := snapshot.EncodeDelta(d)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"base":1,"version":2,"issued_at":"2030-01-01T00:00:00Z","changes":{"put_keys":[],"remove_keys":[],` +
		`"put_revocations":[],"remove_revocations":[],"put_webhooks":[{"name":"gh","preset":"github","secret":"whsec-current-secret-01",` +
		`"next_secret":"whsec-next-secret-0002","tolerance_seconds":60}],"remove_webhooks":["old"]}}`
	if string(payload) != want {
		t.Fatalf("payload\n got %s\nwant %s", payload, want)
	}
	got, err := snapshot.DecodeDelta(payload)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := snapshot.EncodeDelta(got); string(again) != want {
		t.Fatalf("re-encoded\n got %s\nwant %s", again, want)
	}
	keysOnly, _ := snapshot.EncodeDelta(&snapshot.Delta{Base: 1, Version: 2, IssuedAt: d.IssuedAt, Changes: &policy.Changes{}})
	if strings.Contains(string(keysOnly), "webhooks") {
		t.Fatalf("a delta without verifiers names them: %s", keysOnly)
	}

	head := `{"base":1,"version":2,"issued_at":"2030-01-01T00:00:00Z","changes":`
	for name, tc := range map[string]struct{ changes, want string }{
		"put and removed": {`{"put_webhooks":[{"name":"gh","preset":"github","secret":"whsec-current-secret-01"}],"remove_webhooks":["gh"]}`,
			"changes.remove_webhooks[0]: must be a webhook name not put or removed elsewhere"},
		"unknown preset": {`{"put_webhooks":[{"name":"gh","preset":"nope","secret":"whsec-current-secret-01"}]}`,
			"changes.put_webhooks[0].preset"},
		"short secret": {`{"put_webhooks":[{"name":"gh","preset":"github","secret":"x"}]}`,
			"changes.put_webhooks[0].secret"},
		"bad name": {`{"remove_webhooks":[""]}`, "changes.remove_webhooks[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := snapshot.DecodeDelta([]byte(head + tc.changes + `}`))
			if !errors.Is(err, snapshot.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "whsec-current") {
				t.Fatalf("the error shows a secret: %v", err)
			}
		})
	}
}
