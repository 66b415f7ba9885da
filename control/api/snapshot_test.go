package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/snapshot"
)

func TestSnapshotPoll(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		// The key that verifies is the one the API publishes.
		pk := expect(t, e.do("GET", "/v1/snapshot/public-key", dataplaneToken, nil), http.StatusOK, "")
		pub, err := snapshot.ParsePublicKey(pk["public_key"].(string))
		if err != nil {
			t.Fatal(err)
		}
		cur := e.pub.Current().Version

		// Older version: answered at once, signed.
		r := e.do("GET", "/v1/snapshot?version="+strconv.FormatUint(cur-1, 10), dataplaneToken, nil)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" ||
			r.header.Get(snapshot.VersionHeader) != strconv.FormatUint(cur, 10) {
			t.Fatalf("poll: %d %v", r.status, r.header)
		}
		if err := snapshot.Verify(pub, r.body, r.header.Get(snapshot.SignatureHeader)); err != nil {
			t.Fatalf("served snapshot does not verify: %v", err)
		}
		if s, err := snapshot.Decode(r.body); err != nil || s.Version != cur {
			t.Fatalf("served snapshot: %+v, %v", s, err)
		}

		// Current version: held until the wait passes, then 304 with no body.
		for _, tc := range []struct {
			query string
			wait  time.Duration
		}{{"", 25 * time.Second}, {"&wait=5", 5 * time.Second}, {"&wait=60", 60 * time.Second}} {
			done := e.poll(cur, tc.query)
			e.waitTimers(1)
			e.fake.Advance(tc.wait - time.Second)
			select {
			case r := <-done:
				t.Fatalf("wait%s answered %d before the wait passed", tc.query, r.status)
			case <-time.After(20 * time.Millisecond):
			}
			e.fake.Advance(time.Second)
			r := <-done
			if r.status != http.StatusNotModified || len(r.body) != 0 {
				t.Fatalf("wait%s: %d %q, want an empty 304", tc.query, r.status, r.body)
			}
		}
		if r := e.do("GET", "/v1/snapshot?version="+strconv.FormatUint(cur, 10)+"&wait=0", dataplaneToken, nil); r.status != http.StatusNotModified {
			t.Fatalf("wait=0: %d", r.status)
		}
		// A change wakes a held poll at once.
		done := e.poll(cur, "")
		e.waitTimers(1)
		created, _ := e.createKey(map[string]any{"name": "new"})
		select {
		case r := <-done:
			if r.status != http.StatusOK || r.header.Get(snapshot.VersionHeader) != strconv.FormatUint(cur+1, 10) {
				t.Fatalf("woken poll: %d %v", r.status, r.header)
			}
			s, _ := snapshot.Decode(r.body)
			if len(s.Policy.Keys) != 1 || s.Policy.Keys[0].ID != created["id"] {
				t.Fatalf("woken poll's snapshot keys: %+v", s.Policy.Keys)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("held poll not woken by a change")
		}

		// Shutdown releases held polls with 304.
		done = e.poll(cur+1, "")
		e.waitTimers(1)
		close(e.stop)
		if r := <-done; r.status != http.StatusNotModified {
			t.Fatalf("poll at shutdown: %d", r.status)
		}
	})
}

func TestSnapshotPollParameters(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	for _, q := range []struct{ query, field string }{
		{"version=-1", "version"}, {"version=x", "version"}, {"version=1.5", "version"},
		{"version=18446744073709551616", "version"},
		{"wait=61", "wait"}, {"wait=-1", "wait"}, {"wait=x", "wait"},
	} {
		m := expect(t, e.do("GET", "/v1/snapshot?"+q.query, dataplaneToken, nil), http.StatusBadRequest, "invalid_parameter")
		if f := detailFields(m); len(f) != 1 || f[0] != q.field {
			t.Errorf("%s: details %v", q.query, f)
		}
	}
}

// A client that gives up is not answered and stops counting as waiting.
func TestSnapshotPollClientGone(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	ctx, cancel := context.WithCancel(bg)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/v1/snapshot?version="+strconv.FormatUint(e.pub.Current().Version, 10), nil)
	req.Header.Set("Authorization", "Bearer "+dataplaneToken)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	e.waitTimers(1)
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("canceled poll got an answer")
	}
	e.waitTimers(0) // the handler returned and stopped its timer
}

func TestUsageReports(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, envOptions{})
		a, _ := e.createKey(map[string]any{"name": "a"})
		b, _ := e.createKey(map[string]any{"name": "b"})
		ida, idb := a["id"].(string), b["id"].(string)
		cur := strconv.FormatUint(e.pub.Current().Version, 10)

		e.fake.Advance(time.Minute)
		r := e.do("GET", "/v1/snapshot?wait=0&version="+cur, dataplaneToken, nil, snapshot.UsageHeader, ida+"=3,key_unknown=5,"+idb+"=1")
		if r.status != http.StatusNotModified {
			t.Fatalf("poll with usage: %d", r.status)
		}
		e.fake.Advance(time.Minute)
		// Repeated headers are one list; a malformed report is dropped, the poll still answered.
		e.do("GET", "/v1/snapshot?wait=0&version="+cur, dataplaneToken, nil, snapshot.UsageHeader, ida+"=2", snapshot.UsageHeader, ida+"=1")
		r = e.do("GET", "/v1/snapshot?version=0", dataplaneToken, nil, snapshot.UsageHeader, idb+"=lots")
		if r.status != http.StatusOK {
			t.Fatalf("poll with a malformed report: %d", r.status)
		}
		ka := expect(t, e.do("GET", "/v1/keys/"+ida, adminToken, nil), http.StatusOK, "")
		kb := expect(t, e.do("GET", "/v1/keys/"+idb, adminToken, nil), http.StatusOK, "")
		if ka["use_count"] != 6.0 || ka["last_used_at"] != "2030-01-02T03:06:05Z" {
			t.Fatalf("key a after reports: use_count %v, last_used_at %v", ka["use_count"], ka["last_used_at"])
		}
		if kb["use_count"] != 1.0 || kb["last_used_at"] != "2030-01-02T03:05:05Z" {
			t.Fatalf("key b after reports: use_count %v, last_used_at %v", kb["use_count"], kb["last_used_at"])
		}
		// A report says when each key was last used (Unix ms, by the filter's clock): that time
		// is recorded, not the poll's. A time after the poll arrived is the poll's time.
		c, _ := e.createKey(map[string]any{"name": "c"})
		d, _ := e.createKey(map[string]any{"name": "d"})
		idc, idd := c["id"].(string), d["id"].(string)
		usedAt := e.clock.Now().Add(-40 * time.Second).Add(123 * time.Millisecond)
		future := e.clock.Now().Add(time.Hour)
		e.do("GET", "/v1/snapshot?wait=0&version=0", dataplaneToken, nil, snapshot.UsageHeader,
			fmt.Sprintf("%s=2@%d,%s=1@%d", idc, usedAt.UnixMilli(), idd, future.UnixMilli()))
		kc := expect(t, e.do("GET", "/v1/keys/"+idc, adminToken, nil), http.StatusOK, "")
		kd := expect(t, e.do("GET", "/v1/keys/"+idd, adminToken, nil), http.StatusOK, "")
		if kc["use_count"] != 2.0 || kc["last_used_at"] != usedAt.UTC().Format(time.RFC3339Nano) {
			t.Fatalf("key c: use_count %v, last_used_at %v; want 2, %v (the time of the use)", kc["use_count"], kc["last_used_at"], usedAt.UTC())
		}
		if kd["last_used_at"] != e.clock.Now().UTC().Format(time.RFC3339Nano) {
			t.Fatalf("key d, reported in the future: last_used_at %v, want the poll's time %v", kd["last_used_at"], e.clock.Now().UTC())
		}

		var metricsText = string(e.do("GET", "/metrics", "", nil).body)
		for _, want := range []string{"portcullis_control_usage_entries_total 6", "portcullis_control_usage_rejected_total 1"} {
			if !contains(metricsText, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	})
}

// poll starts a long poll and returns its eventual response.
func (e *env) poll(version uint64, query string) <-chan response {
	c := make(chan response, 1)
	go func() {
		req, _ := http.NewRequest("GET", e.url+"/v1/snapshot?version="+strconv.FormatUint(version, 10)+query, nil)
		req.Header.Set("Authorization", "Bearer "+dataplaneToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			c <- response{status: -1}
			return
		}
		defer resp.Body.Close()
		var body []byte
		buf := make([]byte, 64<<10)
		for {
			n, err := resp.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
		c <- response{status: resp.StatusCode, header: resp.Header, body: body}
	}()
	return c
}

// waitTimers waits until n timers wait on the fake clock (beyond the publisher's re-check).
func (e *env) waitTimers(n int) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.fake.Timers() != n+1 {
		if time.Now().After(deadline) {
			e.t.Fatalf("%d timers, want %d", e.fake.Timers()-1, n)
		}
		time.Sleep(time.Millisecond)
	}
}
