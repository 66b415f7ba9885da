package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunFlagErrors(t *testing.T) {
	env := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "flag provided but not defined"},
		{[]string{"-recheck", "soon"}, "invalid value"},
		{[]string{"-recheck", "0s"}, "-recheck must be positive"},
		{[]string{"-admin-rate", "0"}, "-admin-rate must be positive"},
		{[]string{"-dataplane-burst", "0"}, "-dataplane-burst must be at least 1"},
		{[]string{"-log-level", "loud"}, "-log-level"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-initial-policy", "/nonexistent/policy.json"}, "-initial-policy"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), tc.args, env, &bytes.Buffer{}, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want %q", tc.args, err, tc.want)
		}
	}
}

// run serves until its context ends, with the environment's tokens, then shuts down cleanly.
func TestRunServesUntilCanceled(t *testing.T) {
	env := map[string]string{"PORTCULLIS_ADMIN_TOKEN": "pca_env_admin_token_0000000"}
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "p.db"), "-log-level", "error"},
			func(k string) string { return env[k] }, out, &syncBuffer{})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("no listening line; output:\n%s", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if strings.Contains(out.String(), "admin token:") || !strings.Contains(out.String(), "snapshot public key: ") {
		t.Fatalf("output:\n%s", out)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run = %v", err)
	}
}
