package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/logging/logtest"
)

// With -log-format json every log line is a JSON object, and the filter's denial line (which
// the filter writes as key=value text through the host) arrives with its pairs as fields: the
// request's id, the route and the missing key id, never the credential or the query.
func TestJSONLogs(t *testing.T) {
	var logs logtest.Buffer
	lines, _ := startDemo(t, &logs, "-log-level", "info", "-log-format", "json")
	gw, _, _ := strings.Cut(lines["gateway"], " ")
	req, _ := http.NewRequest("GET", gw+"/anything?token=s3cr3t", nil)
	req.Header.Set("X-API-Key", "pcs_not_a_key_of_this_gateway_000")
	req.Header.Set("X-Request-Id", "req-from-the-client")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var deny map[string]any
	for deadline := time.Now().Add(5 * time.Second); deny == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		objects, bad := logs.JSONLines()
		if len(bad) > 0 {
			t.Fatalf("log lines that are not JSON: %q", bad)
		}
		for _, m := range objects {
			if m["msg"] == "portcullis: deny" {
				deny = m
			}
		}
	}
	if deny == nil {
		t.Fatalf("no denial logged:\n%s", logs.String())
	}
	if deny["code"] != "invalid_credentials" || deny["route"] != "all" || deny["key_id"] != "" || deny["path"] != "/anything" {
		t.Errorf("denial fields %v", deny)
	}
	// The gateway keeps a client's x-request-id (Envoy does with preserve_external_request_id)
	// and sets one when there is none; the line carries the one the request had.
	if deny["request_id"] != "req-from-the-client" {
		t.Errorf("request_id %v, want req-from-the-client", deny["request_id"])
	}
	for _, secret := range []string{"s3cr3t", "pcs_not_a_key_of_this_gateway_000"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}
