package policy

import (
	"strings"
	"testing"
)

// replay_protection is accepted where it has a window and a per-delivery signature, refused
// (naming the field) where it could not protect anything.
func TestReplayProtectionValidation(t *testing.T) {
	doc := func(hook string) string {
		return `{"version":1,"webhooks":[` + hook + `],"routes":[{"name":"r","auth":{"type":"webhook","webhook":"w"}}]}`
	}
	const sec = `"secret":"0123456789abcdef0123"`
	tests := []struct{ name, hook, want string }{
		{"timestamped preset", `{"name":"w","preset":"stripe",` + sec + `,"replay_protection":true}`, ""},
		{"untimestamped preset with a window", `{"name":"w","preset":"github",` + sec + `,"tolerance_seconds":600,"replay_protection":true}`, ""},
		{"off", `{"name":"w","preset":"github",` + sec + `,"replay_protection":false}`, ""},
		{"untimestamped preset without a window", `{"name":"w","preset":"github",` + sec + `,"replay_protection":true}`,
			"webhooks[0].replay_protection: needs tolerance_seconds"},
		{"fixed token", `{"name":"w","preset":"gitlab",` + sec + `,"tolerance_seconds":60,"replay_protection":true}`,
			"webhooks[0].replay_protection: cannot apply to gitlab"},
		{"not a boolean", `{"name":"w","preset":"stripe",` + sec + `,"replay_protection":"yes"}`, "webhooks[0].replay_protection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(doc(tt.hook)))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == "" && tt.name != "off" && !d.Webhooks[0].ReplayProtection:
				t.Fatal("replay_protection not read")
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
