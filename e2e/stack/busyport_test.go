package stack_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/server"
	"github.com/portcullis/portcullis/e2e/stack"
)

// TestSecondStackOnBusyPort is a second `make run` on the same data while the first runs: it
// cannot bind one of its ports and must fail before it touches the store. (It used to rotate
// the data-plane token first, so the running filter's next poll was refused and it silently
// kept enforcing an old policy.) The running stack then still receives every change: a
// revocation, and a key created after it.
func TestSecondStackOnBusyPort(t *testing.T) {
	for _, busy := range []string{"gateway", "admin", "control"} {
		t.Run(busy, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "portcullis.db")
			e := start(t, server.Config{DataPath: data}, nil)
			k := e.createKey(t, "before")
			e.waitStatus(t, k.Key, http.StatusOK, time.Now(), publishLimit)

			cfg := stack.Config{Module: filterModule(t), Control: server.Config{DataPath: data}, Workers: 1}
			addr := func(u string) string { return strings.TrimPrefix(u, "http://") }
			switch busy {
			case "gateway":
				cfg.GatewayAddr = addr(e.GatewayURL())
			case "admin":
				cfg.AdminAddr = addr(e.AdminURL())
			case "control":
				cfg.Control.Addr = addr(e.ControlURL())
			}
			second, err := stack.Start(context.Background(), cfg)
			if err == nil {
				second.Close()
				t.Fatal("the second stack started on a busy port")
			}
			if !strings.Contains(err.Error(), "address already in use") {
				t.Fatalf("error %q does not name the busy address", err)
			}

			if err := e.api.RevokeKey(context.Background(), k.ID); err != nil {
				t.Fatal(err)
			}
			e.waitStatus(t, k.Key, http.StatusUnauthorized, time.Now(), publishLimit)
			after := e.createKey(t, "after")
			e.waitStatus(t, after.Key, http.StatusOK, time.Now(), publishLimit)
		})
	}
}
