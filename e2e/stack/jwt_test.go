package stack_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/e2e/stack"
)

// jwtPolicy has provider idp with inline keys (kids given) on /, and provider remote whose
// keys the control server fetches from jwksURI on /remote.
func jwtPolicy(jwksURI string, idpKeys ...string) []byte {
	return []byte(fmt.Sprintf(`{"version": 1,
  "jwt_providers": [
    {"name": "idp", "issuer": %q, "audiences": [%q], "algorithms": ["RS256", "ES256"], "jwks": {"keys": [%s]}},
    {"name": "remote", "issuer": %q, "audiences": [%q], "algorithms": ["ES256"], "jwks_uri": %q}],
  "routes": [
    {"name": "remote", "match": {"path_prefix": "/remote"}, "auth": {"type": "jwt", "provider": "remote"}},
    {"name": "everything", "match": {"path_prefix": "/"}, "auth": {"type": "jwt", "provider": "idp"}}]}`,
		scenario.Issuer, scenario.Audience, strings.Join(idpKeys, ","), scenario.Issuer, scenario.Audience, jwksURI))
}

// rotatingIssuer serves a JWKS the test replaces, or fails.
type rotatingIssuer struct {
	mu     sync.Mutex
	body   string
	status int
}

func (i *rotatingIssuer) serve(status int, body string) {
	i.mu.Lock()
	i.status, i.body = status, body
	i.mu.Unlock()
}

func (i *rotatingIssuer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	i.mu.Lock()
	defer i.mu.Unlock()
	w.Header().Set("Cache-Control", "max-age=3600")
	w.WriteHeader(i.status)
	io.WriteString(w, i.body)
}

// getToken sends GET path through the gateway with the token as Bearer and returns the status.
func (e env) getToken(t testing.TB, path, tok string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.GatewayURL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitToken waits until settle answers in a row through the gateway are want.
func (e env) waitToken(t testing.TB, path, tok string, want int, limit time.Duration) time.Duration {
	t.Helper()
	since, run, last := time.Now(), 0, 0
	for run < settle {
		if time.Since(since) > limit {
			t.Fatalf("%s: answer %d, want %d on every VM, still after %v", path, last, want, limit)
		}
		if last = e.getToken(t, path, tok); last == want {
			run++
		} else {
			run = 0
			time.Sleep(2 * time.Millisecond)
		}
	}
	return time.Since(since)
}

// TestJWTEndToEnd: through the gateway, a revoked jti and a removed kid are refused within one
// publish cycle, and a key rotation at the issuer reaches the filter through the control
// server's fetch (the last good key set surviving the issuer's failure).
func TestJWTEndToEnd(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			iss := &rotatingIssuer{}
			k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			iss.serve(http.StatusOK, `{"keys":[`+scenario.JWK("k1", &k1.PublicKey)+`]}`)
			issuer := httptest.NewServer(iss)
			defer issuer.Close()
			uri := issuer.URL + "/jwks"
			rsa, ec := scenario.JWK("rsa-1", &scenario.RSAKey.PublicKey), scenario.JWK("ec-1", &scenario.EC256Key.PublicKey)
			e := start(t, st.cfg(t), func(c *stack.Config) { c.Control.InitialPolicy = jwtPolicy(uri, rsa, ec) })
			ctx := context.Background()
			now := time.Now()
			rsTok := scenario.Token(now, "RS256", "alice", "jti-alice")
			esTok := scenario.Token(now, "ES256", "erin", "jti-erin")
			e.waitToken(t, "/x", rsTok, http.StatusOK, 5*time.Second)
			e.waitToken(t, "/x", esTok, http.StatusOK, 5*time.Second)

			// Revoking a jti.
			if _, err := e.api.Do(ctx, "POST", "/v1/revocations", map[string]any{"jti": "jti-alice", "expires_at": now.Add(2 * time.Hour)}, nil, http.StatusCreated); err != nil {
				t.Fatal(err)
			}
			took := e.waitToken(t, "/x", rsTok, http.StatusUnauthorized, publishLimit)
			t.Logf("revoked jti → refused on every VM in %v", took)
			e.waitToken(t, "/x", esTok, http.StatusOK, publishLimit)

			// Removing a kid.
			if err := e.putPolicy(string(jwtPolicy(uri, rsa))); err != nil {
				t.Fatal(err)
			}
			took = e.waitToken(t, "/x", esTok, http.StatusUnauthorized, publishLimit)
			t.Logf("removed kid → its tokens refused on every VM in %v", took)

			// A rotation at the issuer.
			tok1 := scenario.Sign("ES256", `{"alg":"ES256","kid":"k1"}`, scenario.Claims(now, "rita", "jti-r1"), k1)
			tok2 := scenario.Sign("ES256", `{"alg":"ES256","kid":"k2"}`, scenario.Claims(now, "rita", "jti-r2"), k2)
			e.waitToken(t, "/remote", tok1, http.StatusOK, 5*time.Second) // fetched when the server started
			e.waitToken(t, "/remote", tok2, http.StatusUnauthorized, publishLimit)
			iss.serve(http.StatusOK, `{"keys":[`+scenario.JWK("k2", &k2.PublicKey)+`]}`)
			if _, err := e.api.Do(ctx, "POST", "/v1/jwks/refresh", nil, nil, http.StatusOK); err != nil {
				t.Fatal(err)
			}
			took = e.waitToken(t, "/remote", tok2, http.StatusOK, publishLimit)
			e.waitToken(t, "/remote", tok1, http.StatusUnauthorized, publishLimit)
			t.Logf("rotated at the issuer → new key accepted on every VM in %v", took)

			// The issuer fails: the last good set stays.
			iss.serve(http.StatusInternalServerError, "down")
			var out struct {
				KeySets []struct {
					OK    bool   `json:"ok"`
					Error string `json:"error"`
				} `json:"key_sets"`
			}
			if _, err := e.api.Do(ctx, "POST", "/v1/jwks/refresh", nil, &out, http.StatusOK); err != nil {
				t.Fatal(err)
			}
			if len(out.KeySets) != 1 || out.KeySets[0].OK || !strings.Contains(out.KeySets[0].Error, "500") {
				t.Fatalf("refresh with the issuer down: %+v", out)
			}
			time.Sleep(100 * time.Millisecond)
			e.waitToken(t, "/remote", tok2, http.StatusOK, publishLimit)
		})
	}
}
