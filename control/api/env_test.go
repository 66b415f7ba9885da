package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/api"
	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/clock"
	"github.com/portcullis/portcullis/control/metrics"
	"github.com/portcullis/portcullis/control/publish"
	"github.com/portcullis/portcullis/control/seal"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/postgres"
	"github.com/portcullis/portcullis/control/store/postgres/pgtest"
	"github.com/portcullis/portcullis/control/store/sqlite"
	"github.com/portcullis/portcullis/shared/snapshot"
)

const (
	adminToken     = "pca_test_admin_token_000000"
	dataplaneToken = "pcd_test_dataplane_token_00"
)

var (
	bg = context.Background()
	t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
)

// env is one control server API on a real store, served over real HTTP.
type env struct {
	t          *testing.T
	url        string
	clock      clock.Clock
	fake       *clock.Fake // nil with a real clock
	store      store.Store
	svc        *admin.Service
	pub        *publish.Publisher
	metrics    *metrics.Registry
	stop       chan struct{}
	readOnly   string // a read-only admin token
	readOnlyID string // its id
	dbPath     string // the SQLite file ("" on PostgreSQL)
}

type envOptions struct {
	realClock bool
	rateLimit api.RateLimit
	dsn       string // PostgreSQL DSN to share between envs (replicas)
	logger    *slog.Logger
	dbPath    string // set by newEnv
	maxKeys   int    // admin.Options.MaxKeys
}

// backends runs fn once per store implementation.
func backends(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

// testSealer is the master key of every test environment, so replicas on one database share it.
var testSealer = seal.Random()

func newEnv(t *testing.T, backend string, o envOptions) *env {
	t.Helper()
	var (
		st  store.Store
		err error
	)
	switch backend {
	case "sqlite":
		o.dbPath = filepath.Join(t.TempDir(), "p.db")
		st, err = sqlite.Open(bg, o.dbPath)
	case "postgres":
		if o.dsn == "" {
			o.dsn = pgtest.DSN(t)
		}
		st, err = postgres.Open(bg, o.dsn, postgres.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, dbPath: o.dbPath, stop: make(chan struct{}), metrics: metrics.NewRegistry()}
	if o.realClock {
		e.clock = clock.Real{}
	} else {
		e.fake = clock.NewFake(t0)
		e.clock = e.fake
	}
	if o.rateLimit == (api.RateLimit{}) {
		o.rateLimit = api.RateLimit{AdminRate: 1e6, AdminBurst: 1e6, DataplaneRate: 1e6, DataplaneBurst: 1e6, AnonymousRate: 1e6, AnonymousBurst: 1e6}
	}
	e.svc = admin.New(st, admin.Options{Clock: e.clock, Sealer: testSealer, MaxKeys: o.maxKeys})
	if _, err := e.svc.Bootstrap(bg, adminToken, dataplaneToken); err != nil {
		t.Fatal(err)
	}
	priv, err := e.svc.SigningKey(bg)
	if err != nil {
		t.Fatal(err)
	}
	e.pub = publish.New(st, priv, publish.Options{Clock: e.clock, Recheck: time.Hour, Metrics: e.metrics, Sealer: testSealer})
	if err := e.pub.Refresh(bg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() { e.pub.Run(ctx); close(done) }()
	h := api.New(api.Config{Admin: e.svc, Publisher: e.pub, Clock: e.clock, Metrics: e.metrics, RateLimit: o.rateLimit, Stop: e.stop, Logger: o.logger})
	srv := httptest.NewServer(h)
	e.url = srv.URL
	roTok, ro, err := e.svc.CreateToken(bg, auth.System(), store.KindAdmin, admin.NewToken{Name: "viewer", Role: store.RoleReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	e.readOnly, e.readOnlyID = ro, roTok.ID
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		<-done
		st.Close()
	})
	return e
}

// response is what a client observes.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends a request. body is sent as is when it is a string or []byte, else marshalled;
// headers are name, value pairs.
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// expect checks the status and, for errors, the JSON error shape.
func expect(t *testing.T, r response, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if r.status == http.StatusNotModified {
		return nil
	}
	m := r.json(t)
	if code != "" {
		if m["code"] != code || m["error"] == "" || m["error"] == nil {
			t.Fatalf("error body %s, want code %q and a message", r.body, code)
		}
	}
	return m
}

// detailFields lists the field paths of an error's details.
func detailFields(m map[string]any) []string {
	var out []string
	ds, _ := m["details"].([]any)
	for _, d := range ds {
		out = append(out, d.(map[string]any)["field"].(string))
	}
	return out
}

// createKey creates a key through the API, waits until it is published, and returns the
// response body and the raw key.
func (e *env) createKey(body any) (map[string]any, string) {
	e.t.Helper()
	r := e.do("POST", "/v1/keys", adminToken, body)
	m := expect(e.t, r, http.StatusCreated, "")
	e.waitVersion(versionHeader(e.t, r))
	return m, m["key"].(string)
}

// snapshotNow fetches and verifies the published snapshot.
func (e *env) snapshotNow() *snapshot.Snapshot {
	e.t.Helper()
	r := e.do("GET", "/v1/snapshot?version=0", dataplaneToken, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("snapshot: %d %s", r.status, r.body)
	}
	if err := snapshot.Verify(e.pub.PublicKey(), r.body, r.header.Get(snapshot.SignatureHeader)); err != nil {
		e.t.Fatalf("snapshot signature: %v", err)
	}
	s, err := snapshot.Decode(r.body)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// waitVersion waits until the publisher has published at least v.
func (e *env) waitVersion(v uint64) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if cur := e.pub.Current(); cur != nil && cur.Version >= v {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("version %d not published (have %d)", v, e.pub.Current().Version)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func versionHeader(t *testing.T, r response) uint64 {
	t.Helper()
	var v uint64
	if h := r.header.Get(snapshot.VersionHeader); h != "" {
		if err := json.Unmarshal([]byte(h), &v); err != nil {
			t.Fatalf("version header %q", h)
		}
	}
	return v
}
