package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

type scanner interface {
	Scan(dest ...any) error
}

func nullTime(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// encodeList is the JSON array of list, as json.Marshal writes it.
func encodeList(list []string) string {
	if len(list) == 0 {
		return "[]"
	}
	size := 1
	for _, s := range list {
		if !plainJSON(s) {
			b, _ := json.Marshal(list) // a []string always marshals
			return string(b)
		}
		size += len(s) + 3
	}
	// The common case, strings that need no escape, without the encoder's reflection.
	b := make([]byte, 0, size)
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
	}
	b = append(b, ']')
	return string(b)
}

// plainJSON reports whether json.Marshal writes s as it is between quotes: printable ASCII
// other than '"', '\\' and the HTML characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func decodeList(s string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, fmt.Errorf("stored list %q: %w", s, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}
