package wasmhost_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// The compiled filter reads control.token_env from the VM's environment (Envoy's
// vm_config.environment_variables; here Options.Env) and polls with that token. Without the
// variable the plugin start fails: no VM serves.
func TestTokenFromVMEnvironment(t *testing.T) {
	auth := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case auth <- r.Header.Get("authorization"):
		default:
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	cfg := []byte(`{"control": {"cluster": "control", "token_env": "PORTCULLIS_DATAPLANE_TOKEN",
		"public_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "poll_interval_ms": 50}}`)
	newHost(t, "portcullis.wasm", wasmhost.Options{Workers: 1, PluginConfig: cfg,
		Clusters: map[string]string{"control": srv.URL},
		Env:      map[string]string{"PORTCULLIS_DATAPLANE_TOKEN": "pcd_from_the_vm_env_0001"}})
	select {
	case got := <-auth:
		if got != "Bearer pcd_from_the_vm_env_0001" {
			t.Fatalf("the poll carried authorization %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the filter never polled")
	}

	_, err := wasmhost.New(context.Background(), module(t, "portcullis.wasm"), wasmhost.Options{Workers: 1, PluginConfig: cfg,
		Clusters: map[string]string{"control": srv.URL}, Logger: quiet(), CompilationCacheDir: cacheDir})
	if err == nil {
		t.Fatal("the filter started without the token's variable")
	}
}
