package stack_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/stack"
)

// TestKeyChangesTravelAsDeltas: through the compiled module, after the first full snapshot a
// key created and a key revoked reach every VM as deltas, and nothing is reported stale.
func TestKeyChangesTravelAsDeltas(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			e := start(t, st.cfg(t), nil)
			e.expectSteady(t, "", http.StatusUnauthorized)
			e.waitMetric(t, "portcullis_snapshots_applied_total", workers, 5*time.Second)
			full := e.metric("portcullis_snapshots_applied_total")

			k := e.createKey(t, "delta")
			e.waitStatus(t, k.Key, http.StatusOK, time.Now(), publishLimit)
			e.waitMetric(t, "portcullis_deltas_applied_total", workers, 5*time.Second)
			if err := e.api.RevokeKey(context.Background(), k.ID); err != nil {
				t.Fatal(err)
			}
			e.waitStatus(t, k.Key, http.StatusUnauthorized, time.Now(), publishLimit)
			e.waitMetric(t, "portcullis_deltas_applied_total", 2*workers, 5*time.Second)
			if got := e.metric("portcullis_snapshots_applied_total"); got != full {
				t.Errorf("full snapshots applied went from %d to %d for key changes alone", full, got)
			}
			if n := e.metric("portcullis_snapshots_rejected_total"); n != 0 {
				t.Errorf("%d answers rejected", n)
			}
			if e.metric("portcullis_policy_stale") != 0 {
				t.Error("policy reported stale")
			}
		})
	}
}

// TestControlRestoredFromOlderBackup: the control server's database is restored from a backup
// older than the version the filters hold. Before the fix the filters ignored every change
// until the counter passed what they held (the versions in between named other content); now
// the server moves its version past theirs, they take its full snapshot — a key created after
// the backup is refused again — and later changes reach them.
func TestControlRestoredFromOlderBackup(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "portcullis.db")
	cfg := stores[0].cfg(t)
	cfg.DataPath = db
	e := start(t, cfg, nil)
	before, after, backup := e.backupBetweenTwoKeys(t, db)

	if err := e.StopControl(); err != nil {
		t.Fatal(err)
	}
	copyFiles(t, backup, db) // the restore
	if err := e.StartControl(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, after.Key, http.StatusUnauthorized, time.Now(), 5*time.Second)
	e.expectSteady(t, before.Key, http.StatusOK)

	later := e.createKey(t, "after the restore")
	e.waitStatus(t, later.Key, http.StatusOK, time.Now(), publishLimit)
}

// TestControlRestoredThenWrittenBeforeFiltersPoll: after the restore, a change is committed
// before any filter polls, so the restored server publishes again the version number the
// filters hold — with other content. The poll's issued time tells them apart: the server moves
// past it, and the filters drop the key created after the backup and take the new one.
func TestControlRestoredThenWrittenBeforeFiltersPoll(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portcullis.db")
	cfg := stores[0].cfg(t)
	cfg.DataPath = db
	var gate pollGate
	var proxy *httptest.Server
	t.Cleanup(func() {
		if proxy != nil {
			proxy.Close()
		}
	})
	e := start(t, cfg, func(c *stack.Config) {
		c.ControlVia = func(target string) string {
			proxy = httptest.NewServer(gate.handler(target))
			return proxy.URL
		}
	})
	before, after, backup := e.backupBetweenTwoKeys(t, db) // after: version N in the filters

	gate.close() // the filters cannot reach the server for a while
	if err := e.StopControl(); err != nil {
		t.Fatal(err)
	}
	copyFiles(t, backup, db)
	if err := e.StartControl(context.Background()); err != nil {
		t.Fatal(err)
	}
	later := e.createKey(t, "after the restore") // version N again, on the restored server
	gate.open()

	e.waitStatus(t, after.Key, http.StatusUnauthorized, time.Now(), 5*time.Second)
	e.waitStatus(t, later.Key, http.StatusOK, time.Now(), 5*time.Second)
	e.expectSteady(t, before.Key, http.StatusOK)
}

// backupBetweenTwoKeys creates a key, stops the control server, backs its SQLite database db
// up, starts it again and creates another key; each key is in force on every VM on return.
func (e env) backupBetweenTwoKeys(t *testing.T, db string) (before, after stack.CreatedKey, backup string) {
	t.Helper()
	before = e.createKey(t, "in the backup")
	e.waitStatus(t, before.Key, http.StatusOK, time.Now(), publishLimit)
	if err := e.StopControl(); err != nil {
		t.Fatal(err)
	}
	backup = filepath.Join(t.TempDir(), "backup")
	copyFiles(t, db, backup)
	if err := e.StartControl(context.Background()); err != nil {
		t.Fatal(err)
	}
	after = e.createKey(t, "after the backup")
	e.waitStatus(t, after.Key, http.StatusOK, time.Now(), publishLimit)
	return before, after, backup
}

// pollGate proxies polls to the control server, or answers 503 while closed.
type pollGate struct{ closed atomic.Bool }

func (g *pollGate) close() { g.closed.Store(true) }
func (g *pollGate) open()  { g.closed.Store(false) }

func (g *pollGate) handler(target string) http.Handler {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.closed.Load() {
			http.Error(w, "gate closed", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	})
}

// copyFiles copies an SQLite database and its companion files (-wal, -shm) from src to dst,
// removing dst's companions that src lacks.
func copyFiles(t *testing.T, src, dst string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		in, err := os.Open(src + suffix)
		if os.IsNotExist(err) {
			os.Remove(dst + suffix)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(dst+suffix, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
