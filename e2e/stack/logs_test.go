package stack_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecorder is a slog.Handler that keeps every line (message and attributes) so a test can
// wait for one: the stack's control server, gateway, host and filter all log through it.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
	attrs string
	root  *logRecorder
}

func newLogRecorder() *logRecorder {
	r := &logRecorder{}
	r.root = r
	return r
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s%s", rec.Level, rec.Message, r.attrs)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	r.root.mu.Lock()
	if len(r.root.lines) < 100_000 {
		r.root.lines = append(r.root.lines, b.String())
	}
	r.root.mu.Unlock()
	return nil
}

func (r *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	s := r.attrs
	for _, a := range attrs {
		s += fmt.Sprintf(" %s=%v", a.Key, a.Value)
	}
	return &logRecorder{attrs: s, root: r.root}
}

func (r *logRecorder) WithGroup(string) slog.Handler { return r }

// count is the number of lines containing s.
func (r *logRecorder) count(s string) int {
	r.root.mu.Lock()
	defer r.root.mu.Unlock()
	n := 0
	for _, l := range r.root.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// wait waits until more than before lines contain s.
func (r *logRecorder) wait(t testing.TB, s string, before int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for r.count(s) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("no new log line with %q after %v", s, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tail is the last n lines.
func (r *logRecorder) tail(n int) []string {
	r.root.mu.Lock()
	defer r.root.mu.Unlock()
	return append([]string(nil), r.root.lines[max(0, len(r.root.lines)-n):]...)
}
