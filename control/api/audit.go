package api

import (
	"encoding/json"
	"net/http"
	"time"
)

type auditEntry struct {
	ID      int64           `json:"id"`
	At      time.Time       `json:"at"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Target  string          `json:"target"`
	Version *uint64         `json:"version"`
	Before  json.RawMessage `json:"before"`
	After   json.RawMessage `json:"after"`
}

type auditList struct {
	Entries    []auditEntry `json:"entries"`
	NextCursor *string      `json:"next_cursor"`
}

func (s *server) listAudit(w http.ResponseWriter, r *http.Request) {
	cursor, limit, err := pageParams(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	entries, next, err := s.cfg.Admin.ListAudit(r.Context(), cursor, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := auditList{Entries: make([]auditEntry, len(entries)), NextCursor: cursorString(next)}
	for i, e := range entries {
		out.Entries[i] = auditEntry{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target,
			Before: rawOrNull(e.Before), After: rawOrNull(e.After)}
		if e.Version > 0 {
			v := e.Version
			out.Entries[i].Version = &v
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func rawOrNull(b []byte) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return b
}
