package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/store/postgres/pgtest"
)

// importKeys is the size of TestImportKeysScale. BENCHMARKS.md records it at 1,000,000:
//
//	go test -run TestImportKeysScale -v ./control/api -args -import-keys=1000000
var importKeys = flag.Int("import-keys", 20_000, "keys in TestImportKeysScale's import")

// TestImportKeysScale imports -import-keys keys in one request, generated as the request body
// streams (neither side holds the body), on both stores, and reports the time and rate. Each
// line has the fields of the large test policy's keys: paths, permissions, an expiry. The
// publish that follows is timed apart, from the answer to the new version's snapshot; with
// PostgreSQL, the CPU of this test's server processes is reported too.
func TestImportKeysScale(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		var o envOptions
		var server serverCPU
		if backend == "postgres" {
			server.app = "portcullis_import_" + strconv.Itoa(os.Getpid())
			o.dsn = pgtest.DSN(t) + "&application_name=" + server.app
		}
		e := newEnv(t, backend, o)
		server.db = e.store
		n := *importKeys
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeImport(pw, n)) }()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		server0 := server.read(t)
		cpu0 := processCPU()
		start := time.Now()
		req, err := http.NewRequest("POST", e.url+"/v1/keys:import", pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/jsonl")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct {
			Imported        int
			SnapshotVersion uint64 `json:"snapshot_version"`
		}
		body, _ := io.ReadAll(resp.Body)
		took, cpu := time.Since(start), processCPU()-cpu0
		serverTook := server.since(t, server0)
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &res) != nil || res.Imported != n {
			t.Fatalf("import of %d keys: %d %.300s", n, resp.StatusCode, body)
		}
		// The publish, apart: it began at the commit, just before the answer.
		for cur := e.pub.Current(); cur == nil || cur.Version < res.SnapshotVersion; cur = e.pub.Current() {
			if time.Since(start) > 10*time.Minute {
				t.Fatalf("version %d not published", res.SnapshotVersion)
			}
			time.Sleep(10 * time.Millisecond)
		}
		published, publishCPU := time.Since(start)-took, processCPU()-cpu0-cpu
		var (
			st    store.State
			count int
		)
		err = e.store.Read(context.Background(), func(tx store.Tx) error {
			if st, err = tx.State(context.Background()); err != nil {
				return err
			}
			_, count, err = tx.KeysInTiers(context.Background(), []string{""}, 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if count != n || st.Version != 2 {
			t.Fatalf("after the import: %d keys stored, version %d; want %d keys in version 2", count, st.Version, n)
		}
		t.Logf("%s: %d keys in %v (%.0f keys/s), process CPU %v; %d MiB allocated in the process meanwhile, heap in use %d MiB after",
			backend, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), cpu.Round(time.Millisecond),
			(after.TotalAlloc-before.TotalAlloc)>>20, after.HeapInuse>>20)
		if server.app != "" {
			t.Logf("%s: the server processes of this test used %v of CPU during the import", backend, serverTook.Round(time.Millisecond))
		}
		t.Logf("%s: then published in %v more, process CPU %v", backend, published.Round(time.Millisecond), publishCPU.Round(time.Millisecond))
	})
}

// serverCPU reads the CPU time of the PostgreSQL server processes that serve connections named
// app (application_name), from /proc: the server runs on this machine in tests.
type serverCPU struct {
	app string
	db  store.Store
}

// read returns each such process's CPU time so far, by process id.
func (s serverCPU) read(t *testing.T) map[int]time.Duration {
	if s.app == "" {
		return nil
	}
	sdb, ok := s.db.(interface{ DB() *sql.DB })
	if !ok {
		t.Fatalf("store %T has no DB", s.db)
	}
	rows, err := sdb.DB().Query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, s.app)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Fatalf("the PostgreSQL server is not on this machine: %v", err)
		}
		// Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(utime+stime) * time.Second / 100 // USER_HZ
	}
	return out
}

// since is the CPU time the processes used since before was read.
func (s serverCPU) since(t *testing.T, before map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, cpu := range s.read(t) {
		d += cpu - before[pid]
	}
	return d
}

// processCPU is the CPU time (user and system) this process has used: on a loaded machine it
// moves less than wall time. The database server's time (PostgreSQL) is not in it.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeImport writes n import lines like the large test policy's keys.
func writeImport(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	for i := range n {
		sum := sha256.Sum256(strconv.AppendInt([]byte("pcs_scale_"), int64(i), 10))
		line = fmt.Appendf(line[:0], `{"id":"key_scale_%07d","name":"customer %d","sha256":"%s",`+
			`"allowed_paths":["/api/v1/","/files/%d/"],"permissions":["read","write:%d"],"expires_at":"2099-01-01T00:00:00Z"}`+"\n",
			i, i, hex.EncodeToString(sum[:]), i%100, i%10)
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}
