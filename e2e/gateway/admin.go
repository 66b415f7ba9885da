package gateway

import (
	"fmt"
	"net/http"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// Admin serves the filter's metrics in Prometheus text format at GET /metrics and the host's
// health at GET /healthz: 200 while at least one VM serves, 503 when all of them failed.
func Admin(h *wasmhost.Host) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = h.WritePrometheus(w)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		vms := h.VMs()
		failed := 0
		for _, vm := range vms {
			if vm.Failed {
				failed++
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if failed == len(vms) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintf(w, "vms %d failed %d\n", len(vms), failed)
	})
	return mux
}
