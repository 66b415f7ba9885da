package wasmhost

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
)

// logWriter turns the module's stdout or stderr into log lines, as Envoy logs a Wasm module's
// stdout at info and stderr at error. A Go panic message arrives here.
type logWriter struct {
	mu     sync.Mutex
	logger *slog.Logger
	level  slog.Level
	vm     int
	buf    []byte
}

// maxLogLine bounds a line without a newline; longer output is flushed in pieces.
const maxLogLine = 16 << 10

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) >= maxLogLine {
				i = len(w.buf)
			} else {
				return len(p), nil
			}
		}
		line := string(bytes.TrimRight(w.buf[:i], "\r"))
		w.buf = w.buf[min(i+1, len(w.buf)):]
		if line != "" {
			w.logger.Log(context.Background(), w.level, line, "vm", w.vm, "stream", "stdio")
		}
	}
}
