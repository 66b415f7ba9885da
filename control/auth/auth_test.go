package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"regexp"
	"testing"

	"github.com/portcullis/portcullis/control/store"
)

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	shape := regexp.MustCompile(`^pcs_[a-z2-7]{39}$`)
	for range 100 {
		s, err := NewSecret(rand.Reader, KeyPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(s) || seen[s] {
			t.Fatalf("secret %q: wrong shape or repeated", s)
		}
		seen[s] = true
	}
	if SecretBytes*8 < 160 {
		t.Fatalf("secrets carry %d bits, want at least 160", SecretBytes*8)
	}
	if _, err := NewSecret(bytes.NewReader(make([]byte, 3)), KeyPrefix); err == nil {
		t.Fatal("short randomness accepted")
	}
	if _, err := NewID(bytes.NewReader(nil), "key_"); err == nil {
		t.Fatal("short randomness accepted for an id")
	}
	id, _ := NewID(rand.Reader, "key_")
	if !regexp.MustCompile(`^key_[a-z2-7]{16}$`).MatchString(id) {
		t.Fatalf("id %q", id)
	}
}

func TestHashPrefixMask(t *testing.T) {
	if h := Hash("test"); h != "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" {
		t.Fatalf("Hash = %s", h)
	}
	if !Equal(Hash("a"), Hash("a")) || Equal(Hash("a"), Hash("b")) || Equal("", Hash("a")) {
		t.Fatal("Equal is wrong")
	}
	if p := Prefix("pcs_abcdefgh"); p != "pcs_abcd" || Mask(p) != "pcs_abcd***" {
		t.Fatalf("Prefix/Mask = %q, %q", p, Mask(p))
	}
	if Prefix("short") != "short" {
		t.Fatal("Prefix of a short string")
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer   abc  ", "abc", true},
		{"BEARER abc", "abc", true},
		{"Basic abc", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"", "", false},
		{"Bearerabc", "", false},
	} {
		got, ok := BearerToken(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPrincipal(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Fatal("principal in an empty context")
	}
	p := Principal{TokenID: "t", Kind: store.KindAdmin, Role: store.RoleReadOnly}
	got, ok := FromContext(WithPrincipal(context.Background(), p))
	if !ok || got != p || got.CanWrite() {
		t.Fatalf("FromContext = %+v, %v", got, ok)
	}
	if !(Principal{Kind: store.KindAdmin, Role: store.RoleAdmin}).CanWrite() || (Principal{Kind: store.KindDataplane}).CanWrite() {
		t.Fatal("CanWrite is wrong")
	}
}
