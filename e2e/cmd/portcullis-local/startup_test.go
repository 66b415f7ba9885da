package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/control/logging/logtest"
)

// TestREADMEStartupOutput: the first start prints exactly the lines the README's quick start
// shows, addresses, secrets and counts aside.
func TestREADMEStartupOutput(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := startupBlock(t, string(readme))
	s, _ := launch(t, t.TempDir(), nil)
	got := s.lines
	if len(got) != len(want) {
		t.Fatalf("printed %d lines, the README shows %d:\nprinted:\n%s\nREADME:\n%s", len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if normalize(got[i]) != normalize(want[i]) {
			t.Errorf("line %d:\nprinted %q\nREADME  %q\n(normalized %q vs %q)", i+1, got[i], want[i], normalize(got[i]), normalize(want[i]))
		}
	}
}

// startupBlock is the fenced block after the README line "It prints:".
func startupBlock(t *testing.T, readme string) []string {
	_, after, ok := strings.Cut(readme, "It prints:\n\n```\n")
	if !ok {
		t.Fatal(`README: no "It prints:" block`)
	}
	block, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatal("README: the start-up block is not closed")
	}
	return strings.Split(strings.TrimRight(block, "\n"), "\n")
}

var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(https?://)[^/ )]+`), "${1}ADDR"},
	{regexp.MustCompile(`\b(pc[asd]_)[A-Za-z0-9_…]+`), "${1}SECRET"},
	{regexp.MustCompile(`snapshot public key: \S+`), "snapshot public key: KEY"},
	{regexp.MustCompile(`\b\d+\b`), "N"},
	{regexp.MustCompile(`\S*/(admin-token|demo-key|master-key)\b`), "DATA/$1"},
}

// normalize replaces what differs between runs (addresses, secrets, numbers, the data
// directory) with placeholders.
func normalize(line string) string {
	for _, n := range normalizers {
		line = n.re.ReplaceAllString(line, n.with)
	}
	return line
}

// TestStartupRefusesNothing: starting logs no denial (the demo key is in the filter's first
// snapshot, so the start-up check is never refused), on a first start and a restart.
func TestStartupRefusesNothing(t *testing.T) {
	data := t.TempDir()
	for _, run := range []string{"first start", "restart"} {
		var logs logtest.Buffer
		_, stop := launchWith(t, data, nil, []string{"-log-level", "info"}, &logs)
		stop()
		if strings.Contains(logs.String(), "portcullis: deny") {
			t.Errorf("%s logged a denial:\n%s", run, logs.String())
		}
		if !strings.Contains(logs.String(), "applied policy version") {
			t.Errorf("%s: the filter's logs are missing (the check above would pass vacuously):\n%s", run, logs.String())
		}
	}
}

// TestUpstreamFlag: -upstream puts the user's service behind the gateway.
func TestUpstreamFlag(t *testing.T) {
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "application/json")
		w.Write([]byte(`{"service":"mine","key":"` + r.Header.Get("x-portcullis-key-id") + `"}`))
	}))
	defer svc.Close()
	s, _ := launchWith(t, t.TempDir(), nil, []string{"-upstream", svc.URL}, io.Discard)
	if !strings.Contains(strings.Join(s.lines, "\n"), "(upstream: "+svc.URL+",") {
		t.Errorf("the start-up output does not name the upstream: %q", s.lines)
	}
	status, body := get(t, s.gateway+"/anything", "x-api-key", s.demoKey)
	if status != http.StatusOK || body["service"] != "mine" || body["key"] == "" {
		t.Fatalf("through the gateway: %d %v", status, body)
	}
	if status, _ := get(t, s.gateway+"/anything", "", ""); status != http.StatusUnauthorized {
		t.Fatalf("without a key: %d", status)
	}
	for _, bad := range []string{"localhost:3000", "ftp://x", "http://x/?q=1"} {
		if _, err := parse([]string{"-upstream", bad}, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("-upstream %q accepted", bad)
		}
	}
}
