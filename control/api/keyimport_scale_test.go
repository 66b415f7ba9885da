package api_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/store"
)

// importKeys is the size of TestImportKeysScale. BENCHMARKS.md records it at 1,000,000:
//
//	go test -run TestImportKeysScale -v ./control/api -args -import-keys=1000000
var importKeys = flag.Int("import-keys", 20_000, "keys in TestImportKeysScale's import")

// TestImportKeysScale imports -import-keys keys in one request, generated as the request body
// streams (neither side holds the body), on both stores, and reports the time and rate. Each
// line has the fields of the large test policy's keys: paths, permissions, an expiry.
func TestImportKeysScale(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		n := *importKeys
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeImport(pw, n)) }()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
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
		took, cpu := time.Since(start), processCPU()-cpu0
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		var res struct{ Imported int }
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &res) != nil || res.Imported != n {
			t.Fatalf("import of %d keys: %d %.300s", n, resp.StatusCode, body)
		}
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
	})
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
