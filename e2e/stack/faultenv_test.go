package stack_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/server"
	"github.com/portcullis/portcullis/control/store/postgres/pgtest"
	"github.com/portcullis/portcullis/e2e/internal/buildout"
	"github.com/portcullis/portcullis/e2e/stack"
	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// faultEnv is a stack whose filter reaches the control server through a TCP cutter and an
// HTTP proxy that damages snapshots, and whose control server (on PostgreSQL) reaches its
// database through another cutter.
type faultEnv struct {
	env
	poll      *cutter    // filter → control, TCP
	snap      *snapFault // filter → control, HTTP (behind poll)
	db        *cutter    // control → PostgreSQL; nil on SQLite
	directDSN string     // PostgreSQL without the cutter
	masterKey string     // the master key file every control server on directDSN shares
	dataPath  string     // the SQLite file; "" on PostgreSQL
	logs      *logRecorder
	vms       int64
}

func startFault(t *testing.T, c faultCase) *faultEnv {
	t.Helper()
	f := &faultEnv{snap: &snapFault{}, logs: newLogRecorder()}
	var control = stores[0].cfg(t)
	f.dataPath = control.DataPath
	if c.postgres {
		f.directDSN = pgtest.DSN(t)
		u, err := url.Parse(f.directDSN)
		if err != nil || u.Host == "" {
			t.Fatalf("the PostgreSQL DSN must be a URL to put a proxy in front of it")
		}
		f.db = newCutter(t, u.Host)
		u.Host = f.db.addr
		f.masterKey = filepath.Join(t.TempDir(), "master-key")
		control = server.Config{DatabaseURL: u.String(), MasterKeyFile: f.masterKey}
		f.dataPath = ""
	}
	f.env = start(t, control, func(cfg *stack.Config) {
		cfg.Logger = slog.New(f.logs)
		cfg.ControlVia = func(target string) string {
			proxy := httptest.NewServer(f.snap.handler(target))
			t.Cleanup(proxy.Close)
			f.poll = newCutter(t, proxy.Listener.Addr().String())
			return "http://" + f.poll.addr
		}
		if c.module != "" {
			cfg.Module = buildout.Module(t, c.module)
		}
		if c.edit != nil {
			c.edit(cfg)
		}
	})
	f.vms = int64(len(f.Host().VMs()))
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range f.logs.tail(400) {
				t.Log(l)
			}
		}
	})
	return f
}

// ask sends a request with key (none if empty) to the filter directly and reports which VM
// answered, with which status (200: let through) and denial code.
func (f *faultEnv) ask(key string) (vm, status int, code string) {
	headers := [][2]string{{":method", "GET"}, {":path", "/anything"}, {":authority", "faults"}}
	if key != "" {
		headers = append(headers, [2]string{"x-api-key", key})
	}
	s := f.Host().NewStream(wasmhost.StreamInfo{})
	r := s.RequestHeaders(headers, true)
	vm = s.VM()
	s.Done()
	switch r.Action {
	case wasmhost.Continue:
		return vm, http.StatusOK, ""
	case wasmhost.LocalResponse:
		var deny struct{ Code string }
		json.Unmarshal(r.Local.Body, &deny)
		if deny.Code == "" {
			deny.Code = r.Local.Details
		}
		return vm, r.Local.Status, deny.Code
	}
	return vm, 0, r.Action.String()
}

// failClosed reports whether a 503 from vm is the fail-closed answer of a VM that trapped, or
// of a VM reloaded after a trap that has no policy yet. Nothing else may answer 503.
func (f *faultEnv) failClosed(vm, status int, code string) bool {
	if status != http.StatusServiceUnavailable {
		return false
	}
	info := f.Host().VMs()[vm]
	return (info.Failed && code == "wasm_fail_stream") || (info.Generation > 0 && code == "policy_unavailable")
}

// holds checks that 2 requests per VM with key are all answered want (or failed closed).
func (f *faultEnv) holds(t testing.TB, key string, want int) {
	t.Helper()
	for range 2 * f.vms {
		vm, status, code := f.ask(key)
		if status != want && !f.failClosed(vm, status, code) {
			t.Fatalf("key %.12s…: vm %d answered %d %s, want %d", key, vm, status, code, want)
		}
	}
}

// inForce waits until every VM answers want for key. Unless strict, a VM that has trapped
// counts when it answers 503 (it can take no change); strict asks it of every VM, a VM
// reloaded after a trap included.
func (f *faultEnv) inForce(t testing.TB, key string, want int, strict bool, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	ok := map[int]bool{}
	last := ""
	for int64(len(ok)) < f.vms {
		if time.Now().After(deadline) {
			t.Fatalf("key %.12s…: %d of %d VMs answer %d after %v (last: %s)", key, len(ok), f.vms, want, limit, last)
		}
		vm, status, code := f.ask(key)
		if status == want || (!strict && f.Host().VMs()[vm].Failed && f.failClosed(vm, status, code)) {
			ok[vm] = true
			continue
		}
		delete(ok, vm)
		last = fmt.Sprintf("vm %d: %d %s", vm, status, code)
		time.Sleep(5 * time.Millisecond)
	}
}

// waitHeldPolls waits until the control server holds a long poll of every VM.
func (f *faultEnv) waitHeldPolls(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.controlMetric(t, "portcullis_control_snapshot_polls_waiting") < f.vms {
		if time.Now().After(deadline) {
			t.Fatalf("the control server holds %d polls, want %d", f.controlMetric(t, "portcullis_control_snapshot_polls_waiting"), f.vms)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// controlMetric reads one value from the control server's /metrics.
func (f *faultEnv) controlMetric(t testing.TB, name string) int64 {
	t.Helper()
	resp, err := client.Get(f.ControlURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int64(n)
		}
	}
	return 0
}

// adminStatus sends method path with body to the control server with the admin token and
// returns the answer's status (0: no answer).
func (f *faultEnv) adminStatus(method, path, body string) int {
	req, _ := http.NewRequest(method, f.ControlURL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.api.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// restartControl stops and starts the control server on the same store and address.
func (f *faultEnv) restartControl(t testing.TB) {
	t.Helper()
	if err := f.StopControl(); err != nil {
		t.Fatal(err)
	}
	if err := f.StartControl(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// hasKey reports whether a key with this name exists at the control server.
func (f *faultEnv) hasKey(t testing.TB, name string) bool {
	t.Helper()
	keys, err := f.api.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == name {
			return true
		}
	}
	return false
}

// skewed is the real clock moved by a fixed offset: the filter's time, and only its time.
type skewed struct {
	wasmhost.Clock
	by time.Duration
}

func (c skewed) Now() time.Time { return c.Clock.Now().Add(c.by) }
