package engine_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/shared/engine"
)

// TestJWTScenarios runs the JWT table on the engine at the table's fixed instant, every case
// twice: the second run of an accepted token is a cache hit and must decide the same.
func TestJWTScenarios(t *testing.T) {
	e := compile(t, scenario.Policy)
	for _, c := range scenario.JWTCases(scenario.FixedNow, "") {
		t.Run(c.Name, func(t *testing.T) {
			for round := range 2 {
				for _, p := range c.Check(run(e, &c.Case, scenario.FixedNow, engine.NewMemoryCounters())) {
					t.Errorf("round %d: %s", round, p)
				}
			}
		})
	}
}

func jwtRequest(tok string, now time.Time) *engine.Request {
	return &engine.Request{Method: "GET", Authority: scenario.JWTHost, Path: "/x",
		Headers: [][2]string{{"authorization", "Bearer " + tok}}, Now: now}
}

// A cached token still expires: the hit path checks exp (plus leeway) on every request.
func TestJWTCacheHitStillExpires(t *testing.T) {
	e := compile(t, scenario.Policy)
	now := scenario.FixedNow
	tok := scenario.Token(now, "ES256", "erin", "j-exp") // exp = now + 1h, leeway 60 s
	for _, step := range []struct {
		at   time.Duration
		want string
	}{{0, ""}, {time.Hour + 59*time.Second, ""}, {time.Hour + 60*time.Second, "token_expired"}, {0, ""}} {
		d := e.Decide(jwtRequest(tok, now.Add(step.at)))
		if d.Code != step.want || d.Allow != (step.want == "") {
			t.Fatalf("at +%v: allow=%v code=%q, want %q", step.at, d.Allow, d.Code, step.want)
		}
	}
}

// Revocation rides in the policy: a token accepted (and cached) by one engine is refused by
// the engine of the next snapshot that lists its jti, on the first request.
func TestJWTRevocationInNextSnapshot(t *testing.T) {
	now := scenario.FixedNow
	tok := scenario.Token(now, "RS256", "alice", "j-soon-revoked")
	before := compile(t, scenario.Policy)
	if d := before.Decide(jwtRequest(tok, now)); !d.Allow {
		t.Fatalf("before revocation: %d %s", d.Status, d.Body)
	}
	after := compile(t, strings.Replace(scenario.Policy, `"revoked_tokens": [`, `"revoked_tokens": [{"jti": "j-soon-revoked", "expires_at": "2100-01-01T00:00:00Z"}, `, 1))
	for range 2 {
		if d := after.Decide(jwtRequest(tok, now)); d.Code != "token_revoked" {
			t.Fatalf("after revocation: allow=%v code=%q", d.Allow, d.Code)
		}
	}
}

// Messages never echo the token: every refusal's body and headers are the table's.
func TestJWTDenialsNeverEchoTheToken(t *testing.T) {
	e := compile(t, scenario.Policy)
	for _, c := range scenario.JWTCases(scenario.FixedNow, "") {
		d := e.Decide(&engine.Request{Method: c.Req.Method, Authority: c.Req.Authority, Path: c.Req.Path, Headers: c.Req.Headers, Now: scenario.FixedNow})
		if d.Allow {
			continue
		}
		for _, h := range c.Req.Headers {
			secret := h[1]
			if len(secret) < 8 {
				continue
			}
			if len(secret) > 40 {
				secret = secret[len(secret)-30:]
			}
			if strings.Contains(string(d.Body), secret) || strings.Contains(fmt.Sprint(d.Headers), secret) {
				t.Errorf("%s: the reply echoes a credential: %s", c.Name, d.Body)
			}
		}
	}
}

// The engine is shared by the control server's concurrent dry runs: many goroutines verifying
// and hitting the cache at once must each get the right identity (run with -race in CI).
func TestJWTConcurrentDecide(t *testing.T) {
	e := compile(t, scenario.Policy)
	now := scenario.FixedNow
	var toks []string
	for i := range 50 {
		toks = append(toks, scenario.Token(now, "HS256", fmt.Sprintf("user-%d", i), fmt.Sprintf("j-%d", i)))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				n := (i*7 + g) % len(toks)
				d := e.Decide(jwtRequest(toks[n], now))
				if !d.Allow || d.Identity.UserID != fmt.Sprintf("user-%d", n) {
					select {
					case errs <- fmt.Sprintf("token %d: allow=%v code=%s", n, d.Allow, d.Code):
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
