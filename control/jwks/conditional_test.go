package jwks_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/jwks"
	"github.com/portcullis/portcullis/control/metrics"
	"github.com/portcullis/portcullis/e2e/scenario"
	"github.com/portcullis/portcullis/shared/engine"
)

// Fetches are conditional on the last good set's ETag; a 304 keeps that set, a failure is
// counted per provider naming the URI (two here) and keeps it too.
func TestFetcherConditional(t *testing.T) {
	ctx := context.Background()
	x := newFixture(t, "idp", "idp2")
	reg := metrics.NewRegistry()
	f := jwks.New(x.st, jwks.Options{Metrics: reg})
	a, b := ecJWK(t, "a"), ecJWK(t, "b")
	private := strings.Replace(scenario.JWK("r", &scenario.RSAKey.PublicKey), `"kty"`, `"d":"AQAB","kty"`, 1)
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }

	steps := []struct {
		name                string
		status              int
		etag, body          string
		always304           bool
		wantSent            string // the request's If-None-Match
		wantOK, wantChanged bool
		wantNotModified     bool
		wantKids            string
		wantFailures        uint64 // per provider, so far
	}{
		{"first fetch is unconditional", 200, `"v1"`, set(a), false, "", true, true, false, "a", 0},
		{"same ETag: 304, the set stands", 200, `"v1"`, set(a), false, `"v1"`, true, false, true, "a", 0},
		{"ETag changed: the new set", 200, `"v2"`, set(b), false, `"v1"`, true, true, false, "b", 0},
		{"issuer fails: counted, last good kept", 500, "", "oops", false, `"v2"`, false, false, false, "b", 1},
		{"304 after the failure: the last good set", 200, `"v2"`, set(b), false, `"v2"`, true, false, true, "b", 1},
		{"a refused set: counted, last good kept", 200, `"v3"`, set(a, private), false, `"v2"`, false, false, false, "b", 2},
		{"and its ETag is not remembered", 200, `"v3"`, set(a, private), false, `"v2"`, false, false, false, "b", 3},
		{"a set without ETag", 200, "", set(a, b), false, `"v2"`, true, true, false, "a,b", 3},
		{"makes the next fetch unconditional", 200, "", set(a, b), false, "", true, false, false, "a,b", 3},
		{"304 to an unconditional request: counted", 200, "", set(a), true, "", false, false, false, "a,b", 4},
	}
	for _, s := range steps {
		x.iss.mu.Lock()
		x.iss.status, x.iss.etag, x.iss.body, x.iss.cache, x.iss.always304 = s.status, s.etag, s.body, "max-age=600", s.always304
		x.iss.mu.Unlock()
		before := x.version()
		got, err := f.RefreshAll(ctx)
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %v", s.name, got, err)
		}
		g := got[0]
		x.iss.mu.Lock()
		sent := x.iss.ifNoneMatch
		x.iss.mu.Unlock()
		if sent != s.wantSent {
			t.Errorf("%s: If-None-Match %q, want %q", s.name, sent, s.wantSent)
		}
		if g.OK != s.wantOK || g.Changed != s.wantChanged || g.NotModified != s.wantNotModified {
			t.Errorf("%s: status %+v", s.name, g)
		}
		if s.wantOK && g.NextAt.Sub(g.FetchedAt) != 10*time.Minute {
			t.Errorf("%s: next fetch in %v, want the answer's max-age", s.name, g.NextAt.Sub(g.FetchedAt))
		}
		if bumped := x.version() > before; bumped != s.wantChanged {
			t.Errorf("%s: version bumped = %v", s.name, bumped)
		}
		if kids := x.published(); kids != s.wantKids {
			t.Errorf("%s: published kids %q, want %q", s.name, kids, s.wantKids)
		}
		var out bytes.Buffer
		reg.WriteTo(&out)
		for _, p := range []string{"idp", "idp2"} {
			if want := fmt.Sprintf("portcullis_control_jwks_fetch_failures_total{provider=%q} %d\n", p, s.wantFailures); s.wantFailures > 0 && !strings.Contains(out.String(), want) {
				t.Errorf("%s: metrics lack %q:\n%s", s.name, want, out.String())
			}
		}
		if s.wantFailures == 0 && strings.Contains(out.String(), "portcullis_control_jwks_fetch_failures_total{") {
			t.Errorf("%s: a failure counted:\n%s", s.name, out.String())
		}
	}
}

// Before the first successful fetch a jwks_uri provider has no keys: the snapshot's engine
// refuses its tokens (invalid_signature), through failed fetches too, and accepts them once
// the set has been fetched.
func TestNoKeysBeforeTheFirstFetch(t *testing.T) {
	ctx := context.Background()
	x := newFixture(t, "idp")
	f := jwks.New(x.st, jwks.Options{})
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok := scenario.Sign("ES256", `{"alg":"ES256","kid":"k"}`,
		fmt.Sprintf(`{"iss":"https://i","aud":"a","sub":"s","iat":%d,"exp":%d}`, now.Unix(), now.Unix()+600), k)
	decide := func() engine.Decision {
		return x.snapshot().Engine.Decide(&engine.Request{Method: "GET", Authority: "h", Path: "/",
			Headers: [][2]string{{"authorization", "Bearer " + tok}}, Now: now})
	}
	if d := decide(); d.Allow || d.Code != "invalid_signature" {
		t.Fatalf("before any fetch: allow=%v code=%q, want invalid_signature", d.Allow, d.Code)
	}
	x.iss.set(500, "down", "")
	f.RefreshAll(ctx)
	if d := decide(); d.Allow || d.Code != "invalid_signature" {
		t.Fatalf("after a failed fetch: allow=%v code=%q, want invalid_signature", d.Allow, d.Code)
	}
	x.iss.set(200, `{"keys":[`+scenario.JWK("k", &k.PublicKey)+`]}`, "")
	f.RefreshAll(ctx)
	if d := decide(); !d.Allow {
		t.Fatalf("after the fetch: %d %s", d.Status, d.Body)
	}
}
