package engine_test

import (
	"errors"
	"testing"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/policy"
)

const (
	hookSecretA = "whsec-rotation-secret-A-0001"
	hookSecretB = "whsec-rotation-secret-B-0002"
)

func webhookDeltaEngine(t *testing.T) *engine.Engine {
	t.Helper()
	return compile(t, `{"version":1,"webhooks":[
		{"name":"gh","preset":"github","secret":"`+hookSecretA+`"},
		{"name":"spare","preset":"github","secret":"`+hookSecretA+`"}],
		"routes":[{"name":"hook","match":{"path_prefix":"/hook"},"auth":{"type":"webhook","webhook":"gh"}}]}`)
}

// delivery is a GitHub delivery of body signed with secret, judged headers then body.
func delivery(e *engine.Engine, secret, body string) bool {
	req := &engine.Request{Method: "POST", Authority: "h", Path: "/hook",
		Headers: [][2]string{{"x-hub-signature-256", "sha256=" + hmacHex(secret, body)}}}
	d := e.Decide(req)
	if !d.Allow || !d.BufferBody {
		return false
	}
	return e.DecideBody(&d, req, []byte(body)).Allow
}

// TestApplyWebhookDelta: a verifier travels in a delta like a key — a rotated secret verifies
// at once, for every route that names the verifier — and a delta that cannot apply changes
// nothing.
func TestApplyWebhookDelta(t *testing.T) {
	gh := func(secret, next string) policy.Webhook {
		return policy.Webhook{Name: "gh", Preset: "github", Secret: secret, NextSecret: next}
	}
	for _, tc := range []struct {
		name    string
		changes policy.Changes
		wantErr bool
		// after the delta (or its refusal): secret → delivery accepted
		want map[string]bool
	}{
		{"secret rotated", policy.Changes{PutWebhooks: []policy.Webhook{gh(hookSecretB, "")}}, false,
			map[string]bool{hookSecretA: false, hookSecretB: true}},
		{"next secret added", policy.Changes{PutWebhooks: []policy.Webhook{gh(hookSecretA, hookSecretB)}}, false,
			map[string]bool{hookSecretA: true, hookSecretB: true}},
		{"unused verifier created", policy.Changes{PutWebhooks: []policy.Webhook{{Name: "new", Preset: "stripe", Secret: hookSecretB}}}, false,
			map[string]bool{hookSecretA: true, hookSecretB: false}},
		{"unused verifier removed", policy.Changes{RemoveWebhooks: []string{"spare"}}, false,
			map[string]bool{hookSecretA: true}},
		{"verifier in use removed: refused whole", policy.Changes{PutWebhooks: []policy.Webhook{gh(hookSecretB, "")}, RemoveWebhooks: []string{"gh"}}, true,
			map[string]bool{hookSecretA: true, hookSecretB: false}},
		{"unknown verifier removed: refused whole", policy.Changes{PutWebhooks: []policy.Webhook{gh(hookSecretB, "")}, RemoveWebhooks: []string{"nope"}}, true,
			map[string]bool{hookSecretA: true, hookSecretB: false}},
		{"verifier that does not compile: refused whole", policy.Changes{PutKeys: []policy.Key{{ID: "k", SHA256: hashOf("k"), Active: true}},
			PutWebhooks: []policy.Webhook{{Name: "gh", Preset: "no-such-preset", Secret: hookSecretB}}}, true,
			map[string]bool{hookSecretA: true, hookSecretB: false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := webhookDeltaEngine(t)
			checkErr := e.CheckChanges(&tc.changes)
			err := e.Apply(&tc.changes)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, engine.ErrDelta)) {
				t.Fatalf("Apply = %v, want error %v", err, tc.wantErr)
			}
			if (checkErr != nil) != tc.wantErr {
				t.Fatalf("CheckChanges = %v, want error %v", checkErr, tc.wantErr)
			}
			for secret, want := range tc.want {
				if got := delivery(e, secret, `{"n":1}`); got != want {
					t.Errorf("delivery signed with %s…: accepted %v, want %v", secret[:20], got, want)
				}
			}
		})
	}
}

// A delivery judged on its headers before a rotation is verified with the verifier it found.
func TestWebhookDeltaDuringADelivery(t *testing.T) {
	e := webhookDeltaEngine(t)
	body := `{"n":2}`
	req := &engine.Request{Method: "POST", Authority: "h", Path: "/hook",
		Headers: [][2]string{{"x-hub-signature-256", "sha256=" + hmacHex(hookSecretA, body)}}}
	d := e.Decide(req)
	if err := e.Apply(&policy.Changes{PutWebhooks: []policy.Webhook{{Name: "gh", Preset: "github", Secret: hookSecretB}}}); err != nil {
		t.Fatal(err)
	}
	if !e.DecideBody(&d, req, []byte(body)).Allow {
		t.Fatal("a delivery under way was judged with the secret rotated in after its headers")
	}
	if delivery(e, hookSecretA, body) {
		t.Fatal("the old secret still verifies a new delivery")
	}
}
