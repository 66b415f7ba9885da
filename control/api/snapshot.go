package api

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/shared/snapshot"
)

// pollSnapshot answers GET /v1/snapshot?version=N&wait=S[&delta=1]: the current snapshot at
// once if it is newer than N — as a delta from N when the client takes deltas and the publisher
// has one — else the request is held until a newer one is published or S seconds pass (304).
// Every answer carries a freshness statement signed as it is written, naming the answer's
// kind and the SHA-256 of its body. A client holding a
// version above the published one makes the server move its version past it first (CatchUp).
// The usage report on the request is recorded first, whatever the answer.
func (s *server) pollSnapshot(w http.ResponseWriter, r *http.Request) {
	arrived := s.cfg.Clock.Now()
	q := r.URL.Query()
	var have uint64
	if v := q.Get("version"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.fail(w, r, badParam("version", "must be the non-negative integer version the filter has"))
			return
		}
		have = n
	}
	wait := snapshot.DefaultWait
	if v := q.Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > snapshot.MaxWait {
			s.fail(w, r, badParam("wait", "must be an integer number of seconds from 0 to %d", snapshot.MaxWait))
			return
		}
		wait = n
	}
	deltas := q.Get(snapshot.DeltaParam) == "1"
	issued, hasIssued := int64(0), false
	if v := q.Get(snapshot.IssuedParam); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.fail(w, r, badParam("issued", "must be the issued_at of the version held, in Unix microseconds"))
			return
		}
		issued, hasIssued = n, true
	}
	v2 := q.Get(snapshot.FreshnessParam) == "2"
	nonce := q.Get(snapshot.NonceParam)
	if nonce != "" && snapshot.CheckNonce(nonce) != nil {
		s.fail(w, r, badParam("nonce", "must be 1-%d letters, digits, '-' or '_'", snapshot.MaxNonceBytes))
		return
	}
	s.recordUsage(r, arrived)
	if cur := s.cfg.Publisher.Head(); cur != nil && have > 0 &&
		(have > cur.Version || (have == cur.Version && hasIssued && issued != cur.IssuedAt.UnixMicro())) {
		// The client holds a version this server never published (its database was restored
		// from an older backup): move past it, so that the client gets a full snapshot.
		if err := s.cfg.Publisher.CatchUp(r.Context(), have); err != nil {
			// The poll is held as usual; its answer names the published version, which the
			// client refuses, so it keeps its policy and reports it as unconfirmed.
			s.cfg.Logger.Error("a filter holds a version this server did not publish", "err", err)
		}
	}

	timeout, stop := s.cfg.Clock.Timer(time.Duration(wait) * time.Second)
	defer stop()
	s.m.longPolls.Add(1)
	defer s.m.longPolls.Add(-1)
	for {
		changed := s.cfg.Publisher.Changed()
		head := s.cfg.Publisher.Head()
		if head != nil && head.Version > have {
			if deltas {
				if d := s.cfg.Publisher.Delta(have, issued, hasIssued, head); d != nil {
					s.m.deltas.Inc()
					s.answer(w, v2, snapshot.KindDelta, d.Version, d.Payload, d.Signature, d.Digest, nonce)
					return
				}
			}
			// The full snapshot of the head may still be being built (seconds at a million
			// keys): wait for it within the poll's time.
			if full := s.cfg.Publisher.Current(); full != nil && full.Version > have {
				s.answer(w, v2, snapshot.KindSnapshot, full.Version, full.Payload, full.Signature, full.Digest, nonce)
				return
			}
		}
		select {
		case <-changed:
			continue
		case <-timeout:
		case <-s.cfg.Stop:
		case <-r.Context().Done():
			return
		}
		s.m.notModified.Inc()
		if cur := s.cfg.Publisher.Current(); cur != nil && cur.Version > have {
			// Held until the timeout while the newest full snapshot was built: answer with
			// the one there is rather than nothing.
			s.answer(w, v2, snapshot.KindSnapshot, cur.Version, cur.Payload, cur.Signature, cur.Digest, nonce)
			return
		}
		if head := s.cfg.Publisher.Head(); head != nil {
			// The published version, even when the client holds an older one whose successor is
			// still being built: the client refuses the answer (it names another version) and
			// keeps its policy, rather than hearing that what it holds is current.
			stmt := s.cfg.Publisher.FreshnessV1(head.Version, nonce)
			if v2 {
				stmt = s.cfg.Publisher.Freshness(head.Version, nonce)
			}
			w.Header().Set(snapshot.FreshnessHeader, stmt)
		}
		w.WriteHeader(http.StatusNotModified)
		return
	}
}

// answer writes one poll answer: the payload of kind at version, with its signature and a
// freshness statement for the poll's nonce — in version 2 (v2: the client asked for it) naming
// the payload's SHA-256, digest, else in the previous format, which names no body.
func (s *server) answer(w http.ResponseWriter, v2 bool, kind string, version uint64, payload []byte, sig string, digest [sha256.Size]byte, nonce string) {
	stmt := s.cfg.Publisher.FreshnessV1(version, nonce)
	if v2 {
		stmt = s.cfg.Publisher.AnswerFreshness(version, nonce, kind, digest)
	}
	s.m.served.Inc()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(snapshot.PayloadHeader, kind)
	h.Set(snapshot.SignatureHeader, sig)
	h.Set(snapshot.VersionHeader, strconv.FormatUint(version, 10))
	h.Set(snapshot.FreshnessHeader, stmt)
	h.Set("Content-Length", strconv.Itoa(len(payload)))
	w.WriteHeader(http.StatusOK)
	w.Write(payload)
}

// recordUsage stores the poll's x-portcullis-usage report. A bad or unstorable report is
// counted and dropped; it never fails the poll, which carries the policy the filter needs.
func (s *server) recordUsage(r *http.Request, arrived time.Time) {
	values := r.Header.Values(snapshot.UsageHeader)
	if len(values) == 0 {
		return
	}
	n, err := s.cfg.Admin.RecordUsage(r.Context(), arrived, strings.Join(values, ","))
	if err != nil {
		s.m.usageBad.Inc()
		s.cfg.Logger.Warn("usage report dropped", "err", err)
		return
	}
	s.m.usage.Add(uint64(n))
}

func (s *server) publicKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"public_key": snapshot.FormatPublicKey(s.cfg.Publisher.PublicKey())})
}
