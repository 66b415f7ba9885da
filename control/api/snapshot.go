package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/shared/snapshot"
)

// pollSnapshot answers GET /v1/snapshot?version=N&wait=S: the current snapshot at once if it is
// newer than N, else the request is held until a newer one is published or S seconds pass
// (304). The usage report on the request is recorded first, whatever the answer.
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
	s.recordUsage(r, arrived)

	timeout, stop := s.cfg.Clock.Timer(time.Duration(wait) * time.Second)
	defer stop()
	s.m.longPolls.Add(1)
	defer s.m.longPolls.Add(-1)
	for {
		changed := s.cfg.Publisher.Changed()
		if cur := s.cfg.Publisher.Current(); cur != nil && cur.Version > have {
			s.m.served.Inc()
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set(snapshot.SignatureHeader, cur.Signature)
			h.Set(snapshot.VersionHeader, strconv.FormatUint(cur.Version, 10))
			h.Set("Content-Length", strconv.Itoa(len(cur.Payload)))
			w.WriteHeader(http.StatusOK)
			w.Write(cur.Payload)
			return
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
		w.WriteHeader(http.StatusNotModified)
		return
	}
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
