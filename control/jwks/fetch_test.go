package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/jwks"
	"github.com/portcullis/portcullis/control/publish"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/sqlite"
	"github.com/portcullis/portcullis/e2e/scenario"
)

// issuer is a local JWKS endpoint whose answer the test changes. With an etag it sends an
// ETag and answers 304 to a request naming it in If-None-Match (always304: to any request).
type issuer struct {
	mu           sync.Mutex
	status       int
	body, cache  string
	etag         string
	always304    bool
	ifNoneMatch  string // what the last request sent
	requestCount int
}

func (i *issuer) set(status int, body, cache string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.status, i.body, i.cache = status, body, cache
}

func (i *issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.requestCount++
	i.ifNoneMatch = r.Header.Get("If-None-Match")
	if i.cache != "" {
		w.Header().Set("Cache-Control", i.cache)
	}
	if i.etag != "" {
		w.Header().Set("ETag", i.etag)
	}
	if i.always304 || i.status == http.StatusOK && i.etag != "" && i.ifNoneMatch == i.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(i.status)
	fmt.Fprint(w, i.body)
}

func ecJWK(t *testing.T, kid string) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return scenario.JWK(kid, &k.PublicKey)
}

// fixture is a store whose policy has providers (the names given) on one jwks_uri served by
// iss, and what the test reads back: the version and the kids a snapshot would publish.
type fixture struct {
	t   *testing.T
	st  store.Store
	svc *admin.Service
	iss *issuer
	uri string
}

func newFixture(t *testing.T, names ...string) *fixture {
	ctx := context.Background()
	iss := &issuer{}
	srv := httptest.NewServer(iss)
	t.Cleanup(srv.Close)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := admin.New(st, admin.Options{})
	uri := srv.URL + "/jwks"
	var providers []string
	for _, n := range names {
		providers = append(providers, `{"name":"`+n+`","issuer":"https://i","audiences":["a"],"algorithms":["ES256"],"jwks_uri":"`+uri+`"}`)
	}
	if _, err := svc.SeedPolicy(ctx, []byte(`{"version":1,"jwt_providers":[`+strings.Join(providers, ",")+`],`+
		`"routes":[{"name":"r","auth":{"type":"jwt","provider":"`+names[0]+`"}}]}`)); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, st: st, svc: svc, iss: iss, uri: uri}
}

func (x *fixture) version() uint64 {
	ctx := context.Background()
	var s store.State
	x.st.Read(ctx, func(tx store.Tx) (err error) { s, err = tx.State(ctx); return })
	return s.Version
}

// published returns the kids of the first provider in a snapshot built from the store now.
func (x *fixture) published() string {
	var kids []string
	if p := x.snapshot().Policy.JWTProviders[0]; p.JWKS != nil {
		for _, k := range p.JWKS.Keys {
			kids = append(kids, k.Kid)
		}
	}
	return strings.Join(kids, ",")
}

// snapshot builds the snapshot of the store now, as the publisher would.
func (x *fixture) snapshot() *publish.Signed {
	ctx := context.Background()
	var (
		s    store.State
		pol  store.Policy
		data store.FetchedJWKS
	)
	x.st.Read(ctx, func(tx store.Tx) error {
		s, _ = tx.State(ctx)
		pol, _ = tx.Policy(ctx)
		data, _ = tx.JWKS(ctx, x.uri)
		return nil
	})
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	fetched := map[string][]byte{}
	if data.Keys != nil { // none before the first successful fetch
		fetched[x.uri] = data.Keys
	}
	signed, err := publish.BuildFrom(s, publish.Inputs{Policy: pol.Document, JWKS: fetched}, priv)
	if err != nil {
		x.t.Fatal(err)
	}
	return signed
}

func TestFetcher(t *testing.T) {
	ctx := context.Background()
	x := newFixture(t, "idp")
	iss, svc, uri := x.iss, x.svc, x.uri
	f := jwks.New(x.st, jwks.Options{})
	a, b := ecJWK(t, "a"), ecJWK(t, "b")
	rsaPrivate := strings.Replace(scenario.JWK("r", &scenario.RSAKey.PublicKey), `"kty"`, `"d":"AQAB","kty"`, 1)

	steps := []struct {
		name                string
		status              int
		body, cache         string
		wantOK, wantChanged bool
		wantKids            string
		wantNext            time.Duration
	}{
		{"first set", 200, `{"keys":[` + a + `]}`, "max-age=600", true, true, "a", 10 * time.Minute},
		{"same set again: no new version", 200, `{"keys":[` + a + `]}`, "", true, false, "a", 5 * time.Minute},
		{"rotation", 200, `{"keys":[` + b + `,{"kty":"EC","crv":"P-521","kid":"x","x":"AA","y":"AA"},{"kty":"RSA","use":"enc","kid":"e"}]}`, "max-age=5", true, true, "b", time.Minute},
		{"issuer fails: last good kept", 500, `oops`, "", false, false, "b", 30 * time.Second},
		{"private key material: refused", 200, `{"keys":[` + a + `,` + rsaPrivate + `]}`, "", false, false, "b", 30 * time.Second},
		{"an HMAC secret from a URL: refused", 200, `{"keys":[{"kty":"oct","kid":"h","k":"` + strings.Repeat("A", 43) + `"}]}`, "", false, false, "b", 30 * time.Second},
		{"no usable key: refused", 200, `{"keys":[]}`, "", false, false, "b", 30 * time.Second},
		{"not JSON: refused", 200, `<html>`, "", false, false, "b", 30 * time.Second},
		{"long max-age is capped", 200, `{"keys":[` + a + `,` + b + `]}`, "public, max-age=86400", true, true, "a,b", time.Hour},
	}
	for _, s := range steps {
		iss.set(s.status, s.body, s.cache)
		before := x.version()
		got, err := f.RefreshAll(ctx)
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %v", s.name, got, err)
		}
		g := got[0]
		if g.OK != s.wantOK || g.Changed != s.wantChanged || (g.Error == "") != s.wantOK || g.NextAt.Sub(g.FetchedAt) != s.wantNext {
			t.Errorf("%s: status %+v", s.name, g)
		}
		if bumped := x.version() > before; bumped != s.wantChanged {
			t.Errorf("%s: version bumped = %v", s.name, bumped)
		}
		if kids := x.published(); kids != s.wantKids {
			t.Errorf("%s: published kids %q, want %q", s.name, kids, s.wantKids)
		}
	}
	entries, _, _ := svc.ListAudit(ctx, 0, 100)
	n := 0
	for _, e := range entries {
		if e.Action == "jwks.refresh" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d jwks.refresh audit entries, want 3 (one per change)", n)
	}
	var status []jwks.Status
	b2, _ := json.Marshal(f.Statuses())
	json.Unmarshal(b2, &status)
	if len(status) != 1 || status[0].URI != uri {
		t.Errorf("statuses %+v", status)
	}
}
