package stack_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWebhookRotation: a verifier managed through /v1/webhooks reaches the compiled filter on
// every VM, and its secret rotates with no delivery dropped, as deltas. Deliveries (github preset:
// X-Hub-Signature-256 = sha256=hex(HMAC-SHA256(secret, body))) signed with the old secret pass
// while the new one is staged as next_secret, and fail once the rotation has published.
func TestWebhookRotation(t *testing.T) {
	const (
		oldSecret  = "e2e-github-secret-old-0001"
		newSecret  = "e2e-github-secret-new-0002"
		nextSecret = "e2e-github-secret-nxt-0003"
	)
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			e := start(t, st.cfg(t), nil)
			ctx := context.Background()
			var created map[string]any
			if _, err := e.api.Do(ctx, "POST", "/v1/webhooks", map[string]any{"name": "gh", "preset": "github", "secret": oldSecret}, &created, http.StatusCreated); err != nil {
				t.Fatal(err)
			}
			policy := `{"version": 1, "routes": [
				{"name": "github-hooks", "match": {"path_prefix": "/hooks/github"}, "auth": {"type": "webhook", "webhook": "gh"}},
				{"name": "everything", "match": {"path_prefix": "/"}, "auth": {"type": "api_key"}}]}`
			if err := e.putPolicy(policy); err != nil {
				t.Fatal(err)
			}
			e.waitDelivery(t, oldSecret, http.StatusOK, time.Now())
			e.steadyDelivery(t, newSecret, http.StatusUnauthorized, "signature_mismatch")
			full, deltas := e.metric("portcullis_snapshots_applied_total"), e.metric("portcullis_deltas_applied_total")

			// Stage the new secret: both pass, on every VM.
			if _, err := e.api.Do(ctx, "PATCH", "/v1/webhooks/gh", map[string]any{"next_secret": newSecret}, nil, http.StatusOK); err != nil {
				t.Fatal(err)
			}
			e.waitDelivery(t, newSecret, http.StatusOK, time.Now())
			e.steadyDelivery(t, oldSecret, http.StatusOK, "")

			// Rotate: the new secret is current, the old one fails once the snapshot is applied.
			var rotated map[string]any
			if _, err := e.api.Do(ctx, "POST", "/v1/webhooks/gh/rotate", map[string]any{"next_secret": nextSecret}, &rotated, http.StatusOK); err != nil {
				t.Fatal(err)
			}
			if rotated["masked_secret"] != "****0002" || rotated["masked_next_secret"] != "****0003" {
				t.Fatalf("rotate answered %v", rotated)
			}
			took := e.waitDelivery(t, oldSecret, http.StatusUnauthorized, time.Now())
			t.Logf("rotation → old secret refused on every VM in %v", took)
			e.steadyDelivery(t, oldSecret, http.StatusUnauthorized, "signature_mismatch")
			e.steadyDelivery(t, newSecret, http.StatusOK, "")
			e.steadyDelivery(t, nextSecret, http.StatusOK, "")

			// The staging and the rotation reached every VM as deltas, not full snapshots.
			if got := e.metric("portcullis_snapshots_applied_total"); got != full {
				t.Errorf("full snapshots applied went from %d to %d for a secret rotation", full, got)
			}
			if got := e.metric("portcullis_deltas_applied_total"); got < deltas+2*workers {
				t.Errorf("deltas applied went from %d to %d, want at least %d more", deltas, got, 2*workers)
			}
		})
	}
}

// putPolicy replaces the policy, whatever its version.
func (e env) putPolicy(doc string) error {
	req, _ := http.NewRequest(http.MethodPut, e.ControlURL()+"/v1/policy", strings.NewReader(doc))
	req.Header.Set("Authorization", "Bearer "+e.api.Token)
	req.Header.Set("If-Match", "*")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return &statusError{resp.StatusCode, string(b)}
	}
	return nil
}

type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return http.StatusText(e.status) + ": " + e.body }

// deliver POSTs a GitHub-style delivery signed with secret through the gateway and returns the
// status and the denial code (empty when allowed).
func (e env) deliver(t testing.TB, secret string) (int, string) {
	t.Helper()
	body := `{"action":"opened","number":42}`
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	req, _ := http.NewRequest(http.MethodPost, e.GatewayURL()+"/hooks/github", strings.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var denial struct{ Code string }
	if resp.StatusCode != http.StatusOK {
		json.NewDecoder(resp.Body).Decode(&denial)
	}
	return resp.StatusCode, denial.Code
}

// waitDelivery delivers until settle answers in a row are want (every VM has the change).
func (e env) waitDelivery(t testing.TB, secret string, want int, since time.Time) time.Duration {
	t.Helper()
	run, last := 0, 0
	for run < settle {
		if time.Since(since) > publishLimit {
			t.Fatalf("delivery signed with %.12s…: answer %d, want %d on every VM, still after %v", secret, last, want, publishLimit)
		}
		if last, _ = e.deliver(t, secret); last == want {
			run++
		} else {
			run = 0
			time.Sleep(2 * time.Millisecond)
		}
	}
	return time.Since(since)
}

// steadyDelivery checks that settle deliveries in a row answer want (and code, if set).
func (e env) steadyDelivery(t testing.TB, secret string, want int, code string) {
	t.Helper()
	for range settle {
		if got, c := e.deliver(t, secret); got != want || c != code {
			t.Fatalf("delivery signed with %.12s…: %d %q, want %d %q", secret, got, c, want, code)
		}
	}
}
