package verifier_test

import (
	"testing"

	"github.com/portcullis/portcullis/control/seal"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/control/verifier"
)

func TestMerge(t *testing.T) {
	hooks := []verifier.Doc{{Name: "gh", Preset: "github", Secret: "0123456789abcdef"}}
	const section = `"webhooks":[{"name":"gh","preset":"github","secret":"0123456789abcdef"}]`
	tests := []struct{ in, want string }{
		{`{"version":1}`, `{"version":1,` + section + `}`},
		{" { } \n", `{` + section + `}`},
		{`[1]`, `[1]`},
		{`{"version":1,"version":2}`, `{"version":1,"version":2,` + section + `}`},
	}
	for _, tc := range tests {
		got, err := verifier.Merge([]byte(tc.in), hooks)
		if err != nil || string(got) != tc.want {
			t.Errorf("Merge(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if !verifier.HasSection([]byte(`{"webhooks":[]}`)) || verifier.HasSection([]byte(`{"routes":[]}`)) {
		t.Error("HasSection is wrong")
	}
}

func TestOpenNeedsTheSameVerifierAndField(t *testing.T) {
	s := seal.Random()
	sealed, _ := s.Seal([]byte("0123456789abcdef"), verifier.AD("gh", "secret"))
	if d, err := verifier.Open(s, store.Webhook{Name: "gh", Secret: sealed}); err != nil || d.Secret != "0123456789abcdef" {
		t.Fatalf("Open = %+v, %v", d, err)
	}
	if _, err := verifier.Open(s, store.Webhook{Name: "other", Secret: sealed}); err == nil {
		t.Fatal("a secret sealed for gh opened as other's")
	}
	if _, err := verifier.Open(s, store.Webhook{Name: "gh", Secret: sealed, NextSecret: sealed}); err == nil {
		t.Fatal("a secret sealed as secret opened as next_secret")
	}
}
