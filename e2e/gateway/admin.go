package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// Check is a readiness condition beyond "a VM serves": it returns "" when it holds, else the
// reason it does not, for an operator to read.
type Check func(h *wasmhost.Host) string

// Admin serves the filter's metrics in Prometheus text format at GET /metrics, the host's
// health at GET /healthz (liveness: 200 while at least one VM serves, 503 when all of them
// failed) and GET /readyz (readiness: /healthz and every check; 503 with the reasons, one a
// line, when any fails).
func Admin(h *wasmhost.Host, checks ...Check) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = h.WritePrometheus(w)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		vms, failed := vmHealth(h)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if failed == vms {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintf(w, "vms %d failed %d\n", vms, failed)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		var reasons []string
		if vms, failed := vmHealth(h); failed == vms {
			reasons = append(reasons, fmt.Sprintf("all %d filter VMs failed", vms))
		}
		for _, c := range checks {
			if why := c(h); why != "" {
				reasons = append(reasons, why)
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if len(reasons) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %s\n", strings.Join(reasons, "\nnot ready: "))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

func vmHealth(h *wasmhost.Host) (vms, failed int) {
	for _, vm := range h.VMs() {
		vms++
		if vm.Failed {
			failed++
		}
	}
	return vms, failed
}
