package cli

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
)

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestHashKey(t *testing.T) {
	h := offline(t)
	const sum = "30b5e412dabd8a6fb6d683e5a5b7cdf4dadbc8172bbd63494e331c52a4742eee" // sha256("pcs_abc")
	h.steps([]step{
		{name: "stdin", stdin: "pcs_abc", args: []string{"hash-key"}, out: []string{sum + "\n"}, notOut: []string{"pcs_abc"}},
		{name: "trailing newline", stdin: "pcs_abc\r\n", args: []string{"hash-key"}, out: []string{sum}},
		{name: "empty", args: []string{"hash-key"}, code: ExitUsage},
		{name: "two keys", stdin: "a\nb\n", args: []string{"hash-key"}, code: ExitUsage},
		{name: "key as argument refused", args: []string{"hash-key", "pcs_abc"}, code: ExitUsage},
	})
}

func TestSecretGenerate(t *testing.T) {
	h := offline(t)
	for _, tc := range []struct {
		kind   string
		bits   string
		format string
		bytes  func(string) int // decoded length, checked against bits
	}{
		{"api-key", "192 bits", `^pcs_[a-z2-7]{39}$`, nil},
		{"admin-token", "192 bits", `^pca_[a-z2-7]{39}$`, nil},
		{"dataplane-token", "192 bits", `^pcd_[a-z2-7]{39}$`, nil},
		{"webhook", "256 bits", `^[0-9a-f]{64}$`, func(s string) int { b, _ := hex.DecodeString(s); return len(b) }},
		{"standard-webhooks", "256 bits", `^whsec_[A-Za-z0-9+/=]+$`, func(s string) int { b, _ := base64.StdEncoding.DecodeString(s[6:]); return len(b) }},
		{"hs256", "256 bits", `^[A-Za-z0-9_-]{43}$`, func(s string) int { b, _ := base64.RawURLEncoding.DecodeString(s); return len(b) }},
		{"hs512", "512 bits", `^[A-Za-z0-9_-]{86}$`, func(s string) int { b, _ := base64.RawURLEncoding.DecodeString(s); return len(b) }},
		{"master-key", "256 bits", `^[A-Za-z0-9+/]{43}=$`, func(s string) int { b, _ := base64.StdEncoding.DecodeString(s); return len(b) }},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			code, out, errOut := h.run("", "secret", "generate", tc.kind)
			s := strings.TrimSuffix(out, "\n")
			if code != 0 || !regexp.MustCompile(tc.format).MatchString(s) || !strings.Contains(errOut, tc.bits+" of entropy") {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			if tc.bytes != nil && tc.bytes(s)*8 != atoi(strings.Fields(tc.bits)[0]) {
				t.Fatalf("%q decodes to %d bytes, not %s", s, tc.bytes(s), tc.bits)
			}
			if _, again, _ := h.run("", "secret", "generate", tc.kind); again == out {
				t.Fatal("two secrets are equal")
			}
		})
	}
	code, out, _ := h.run("", "secret", "generate", "api-key", "-o", "json")
	m := jsonOut(t, out)
	if code != 0 || m["entropy_bits"] != float64(192) || len(m["sha256"].(string)) != 64 {
		t.Fatalf("json: %s", out)
	}
	h.steps([]step{{name: "unknown kind", args: []string{"secret", "generate", "password"}, code: ExitUsage, errOut: []string{"api-key"}}})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
