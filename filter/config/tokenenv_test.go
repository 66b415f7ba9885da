package config

import (
	"strings"
	"testing"
)

// control.token_env takes the data-plane token from the VM's environment (Envoy's
// vm_config.environment_variables), so the plugin configuration, which Envoy shows in
// /config_dump, need not hold it. A variable that is missing or empty fails the start: the
// filter must not poll without credentials, and must not silently fall back to anything.
func TestTokenFromEnvironment(t *testing.T) {
	env := map[string]string{"PORTCULLIS_DATAPLANE_TOKEN": "pcd_from_env", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	ctl := func(tokenFields string) string {
		return `{"control":{"cluster":"c",` + tokenFields + `"public_key":"` + pub + `"}}`
	}
	tests := []struct {
		name, in, wantToken, wantErr string
	}{
		{"from the environment", ctl(`"token_env":"PORTCULLIS_DATAPLANE_TOKEN",`), "pcd_from_env", ""},
		{"inline still works", ctl(`"token":"pcd_inline",`), "pcd_inline", ""},
		{"variable not set", ctl(`"token_env":"NOPE",`), "", "control.token_env: the environment variable NOPE is not set in the Wasm VM"},
		{"variable empty", ctl(`"token_env":"EMPTY",`), "", "control.token_env: the environment variable EMPTY is not set"},
		{"no variable named", ctl(`"token_env":"",`), "", "control.token_env: must name an environment variable"},
		{"both", ctl(`"token":"x","token_env":"PORTCULLIS_DATAPLANE_TOKEN",`), "", "control.token: give token or token_env, not both"},
		{"neither", ctl(``), "", "control.token: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseEnv([]byte(tt.in), lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), "pcd_from_env") {
					t.Fatalf("the error shows the token: %v", err)
				}
				return
			}
			if err != nil || cfg.Control.Token != tt.wantToken {
				t.Fatalf("token %q, %v; want %q", cfg.Control.Token, err, tt.wantToken)
			}
		})
	}
}
