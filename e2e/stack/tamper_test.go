package stack_test

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/stack"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// tamperer sits between the filter and the control server and, depending on its mode, changes
// the snapshots on the way, as an attacker on the network (or a broken cache) could.
type tamperer struct {
	mu      sync.Mutex
	mode    string
	first   recorded // the first snapshot that went through: an old, validly signed one
	foreign ed25519.PrivateKey
}

type recorded struct {
	body             []byte
	sig, fresh, kind string
}

func (tp *tamperer) setMode(m string) {
	tp.mu.Lock()
	tp.mode = m
	tp.mu.Unlock()
}

// handler proxies to target and rewrites snapshot answers.
func (tp *tamperer) handler(target string) http.Handler {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		tp.mu.Lock()
		sig, kind := r.Header.Get(snapshot.SignatureHeader), r.Header.Get(snapshot.PayloadHeader)
		if tp.first.body == nil {
			tp.first = recorded{body, sig, r.Header.Get(snapshot.FreshnessHeader), kind}
		}
		switch tp.mode {
		case "flip": // the signed payload changed (snapshot or delta), still valid JSON
			body = bytes.Replace(body, []byte(`"version":`), []byte(`"version": `), 1)
		case "foreign": // the whole answer signed by somebody else's key, in the right domains
			if kind == snapshot.KindDelta {
				r.Header.Set(snapshot.SignatureHeader, snapshot.SignDelta(tp.foreign, body))
			} else {
				r.Header.Set(snapshot.SignatureHeader, snapshot.Sign(tp.foreign, body))
			}
			version, _ := strconv.ParseUint(r.Header.Get(snapshot.VersionHeader), 10, 64)
			r.Header.Set(snapshot.FreshnessHeader, snapshot.SignAnswerFreshness(tp.foreign, version, time.Now(),
				r.Request.URL.Query().Get(snapshot.NonceParam), kind, body))
		case "unsigned": // no signature of any kind
			r.Header.Del(snapshot.SignatureHeader)
			r.Header.Del(snapshot.FreshnessHeader)
		case "replay": // an older answer, validly signed by the real server, headers and all
			body = tp.first.body
			r.Header.Set(snapshot.SignatureHeader, tp.first.sig)
			r.Header.Set(snapshot.FreshnessHeader, tp.first.fresh)
			r.Header.Set(snapshot.PayloadHeader, tp.first.kind)
		}
		tp.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	return rp
}

// TestTamperedSnapshots: snapshots and deltas that were altered, signed with another key,
// unsigned or replayed from an earlier poll are rejected, counted, and the policy in force stays; once the
// channel is clean again the filter catches up.
func TestTamperedSnapshots(t *testing.T) {
	_, foreign, _ := ed25519.GenerateKey(nil)
	tp := &tamperer{foreign: foreign}
	var proxy *httptest.Server
	t.Cleanup(func() {
		if proxy != nil {
			proxy.Close()
		}
	})
	e := start(t, stores[0].cfg(t), func(c *stack.Config) {
		c.ControlVia = func(target string) string {
			proxy = httptest.NewServer(tp.handler(target))
			return proxy.URL
		}
	})
	old := e.createKey(t, "in force")
	e.waitStatus(t, old.Key, http.StatusOK, time.Now(), publishLimit)

	var blocked stack.CreatedKey
	for i, mode := range []string{"flip", "foreign", "unsigned", "replay"} {
		t.Run(mode, func(t *testing.T) {
			tp.setMode(mode)
			rejected := e.metric("portcullis_snapshots_rejected_total")
			if i == 0 {
				// A change made while the channel is tampered with never takes effect.
				blocked = e.createKey(t, "blocked")
			}
			e.waitMetric(t, "portcullis_snapshots_rejected_total", rejected+workers, 5*time.Second)
			e.expectSteady(t, old.Key, http.StatusOK)
			e.expectSteady(t, blocked.Key, http.StatusUnauthorized)
		})
	}
	tp.setMode("")
	took := e.waitStatus(t, blocked.Key, http.StatusOK, time.Now(), publishLimit)
	t.Logf("clean channel → caught up in %v", took)
	e.expectSteady(t, old.Key, http.StatusOK)
}
