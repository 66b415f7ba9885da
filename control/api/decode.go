package api

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// readBody reads at most MaxBodyBytes; a larger body is an *http.MaxBytesError (413).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &apiError{status: http.StatusBadRequest, code: "empty_body", msg: "a JSON request body is required"}
	}
	return body, nil
}

// optStrings reads an array of strings where null means empty.
func optStrings(r *strictjson.Reader, field string) []string {
	if r.IsNull() {
		return []string{}
	}
	list := r.Strings("", field)
	if list == nil {
		list = []string{}
	}
	return list
}

// optString reads a string where null means none (the empty string).
func optString(r *strictjson.Reader, field string) string {
	if r.IsNull() {
		return ""
	}
	return r.String("", field)
}

// optTime reads an RFC 3339 time where null means none (the zero time).
func optTime(r *strictjson.Reader, field string) time.Time {
	if r.IsNull() {
		return time.Time{}
	}
	return r.Time("", field)
}

// Paging parameters.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

func pageParams(q url.Values) (cursor int64, limit int, err error) {
	limit = defaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return 0, 0, badParam("limit", "must be an integer from 1 to %d", maxLimit)
		}
		limit = n
	}
	if s := q.Get("cursor"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return 0, 0, badParam("cursor", "must be a next_cursor value from a previous page")
		}
		cursor = n
	}
	return cursor, limit, nil
}
