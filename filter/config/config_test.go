package config

import (
	"strings"
	"testing"
)

// pub is a syntactically valid Ed25519 public key (32 zero bytes) for parsing tests.
const pub = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

func control(extra string) string {
	return `{"cluster":"portcullis_control","token":"dp-token","public_key":"` + pub + `"` + extra + `}`
}

func TestControlDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`{"control":` + control(`,"wait_seconds":10`) + `}`))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Control
	if c.Authority != DefaultAuthority || c.PollIntervalMillis != DefaultPollIntervalMillis || c.WaitSeconds != 10 || c.TimeoutMillis != 15000 || len(c.PublicKey) != 32 || c.FreshnessWindowSeconds != 300 {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if cfg.Policy != nil {
		t.Fatal("policy should be nil")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"valid", `{"policy":{"version":1}}`, ""},
		{"empty", ``, "plugin configuration is empty"},
		{"not json", `policy`, "invalid JSON at byte 0"},
		{"not an object", `"x"`, "must be an object, not string"},
		{"missing policy", `{}`, "policy: required"},
		{"unknown field", `{"policy":{"version":1},"polcy":{}}`, "polcy: unknown field"},
		{"invalid policy names its path", `{"policy":{"version":1,"routes":[{"name":"r","auth":{"type":"magic"}}]}}`, `policy.routes[0].auth.type: must be "api_key", "jwt", "api_key_or_jwt", "webhook" or "none", not "magic"`},
		{"policy not an object", `{"policy":[]}`, "policy: must be an object, not array"},
		{"control only", `{"control":` + control(``) + `}`, ""},
		{"missing policy and control", `{}`, "policy: required unless a control section is given"},
		{"control without token", `{"control":{"cluster":"c","public_key":"` + pub + `"}}`, "control.token: required"},
		{"control without key", `{"control":{"cluster":"c","token":"t"}}`, "control.public_key: required"},
		{"control bad key", `{"control":{"cluster":"c","token":"t","public_key":"AAAA"}}`, "control.public_key: must be a base64 Ed25519 public key"},
		{"control timeout below wait", `{"control":` + control(`,"wait_seconds":10,"timeout_ms":9000`) + `}`, "control.timeout_ms: must exceed wait_seconds"},
		{"control freshness window within wait", `{"control":` + control(`,"wait_seconds":30,"freshness_window_seconds":30`) + `}`, "control.freshness_window_seconds: must exceed wait_seconds (30 s)"},
		{"control unknown field", `{"control":` + control(`,"interval":1`) + `}`, "control.interval: unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil || (cfg.Policy == nil && cfg.Control == nil) {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}
