package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

func TestFields(t *testing.T) {
	tests := []struct {
		in, msg string
		attrs   map[string]string
	}{
		{`portcullis: deny status=401 code=invalid_credentials route=api key_id="" request_id=req-1 method=GET path=/v1/x`,
			"portcullis: deny", map[string]string{"status": "401", "code": "invalid_credentials", "route": "api", "key_id": "",
				"request_id": "req-1", "method": "GET", "path": "/v1/x"}},
		{`portcullis: deny request_id="r1 code=allowed\nx" method=GET`,
			"portcullis: deny", map[string]string{"request_id": "r1 code=allowed\nx", "method": "GET"}},
		// Prose stays prose: a sentence with an '=' that is not a run of pairs to the end.
		{`portcullis: applied policy version 3 (2 routes) in 4ms`, `portcullis: applied policy version 3 (2 routes) in 4ms`, nil},
		{`cannot parse a=b c`, `cannot parse a=b c`, nil},
		{`k=v`, `k=v`, nil},
		{`broken quote x="abc`, `broken quote x="abc`, nil},
	}
	for _, tt := range tests {
		msg, attrs := Fields(tt.in)
		got := map[string]string{}
		for _, a := range attrs {
			got[a.Key] = a.Value.String()
		}
		if len(attrs) == 0 {
			got = nil
		}
		if msg != tt.msg || !reflect.DeepEqual(got, tt.attrs) {
			t.Errorf("Fields(%q) = %q %v, want %q %v", tt.in, msg, got, tt.msg, tt.attrs)
		}
	}
}

// In JSON, a filter denial line becomes an object with its pairs as fields.
func TestJSONLogSplitsFilterLines(t *testing.T) {
	var buf bytes.Buffer
	lg, err := New(&buf, "json", slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	lg.Info(`portcullis: deny status=403 code=no_route route=_none key_id="" request_id=r2`, "vm", 1)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%q: %v", buf.String(), err)
	}
	if m["msg"] != "portcullis: deny" || m["code"] != "no_route" || m["request_id"] != "r2" || m["vm"] != float64(1) || m["key_id"] != "" {
		t.Errorf("JSON line = %v", m)
	}
	buf.Reset()
	lg, _ = New(&buf, "text", slog.LevelInfo)
	lg.Info(`portcullis: deny status=403 code=no_route`)
	if !strings.Contains(buf.String(), `msg="portcullis: deny" status=403 code=no_route`) {
		t.Errorf("text line = %q", buf.String())
	}
	if _, err := New(&buf, "xml", slog.LevelInfo); err == nil {
		t.Error("-log-format xml accepted")
	}
}
