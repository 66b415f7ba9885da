package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/portcullis/portcullis/shared/snapshot"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal error","code":"internal_error"}`)
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// setVersion tells the caller which snapshot version carries its change (none if 0).
func setVersion(w http.ResponseWriter, version uint64) {
	if version > 0 {
		w.Header().Set(snapshot.VersionHeader, strconv.FormatUint(version, 10))
	}
}

func cursorString(next int64) *string {
	if next == 0 {
		return nil
	}
	s := strconv.FormatInt(next, 10)
	return &s
}
