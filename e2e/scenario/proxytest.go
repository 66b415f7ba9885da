// The SDK's host emulator builds only natively; without this constraint the scenarios could not
// be imported by shared/ benchmarks that `make bench` runs compiled to wasip1.

//go:build !wasip1

package scenario

import (
	"slices"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// RunEmulated sends req through the SDK's host emulator (native or with a compiled module) and
// returns what the client or the upstream would see, and the filter's last action.
func RunEmulated(host proxytest.HostEmulator, req *Request) (Outcome, types.Action) {
	id := host.InitializeHttpContext()
	source := req.Source
	if source == "" {
		source = DefaultSource
	}
	if err := host.SetProperty([]string{"source", "address"}, []byte(source)); err != nil {
		panic(err) // the emulator always accepts a property
	}
	chunks := req.Chunks()
	action := host.CallOnRequestHeaders(id, req.HeaderPairs(), len(chunks) == 0)
	for i, c := range chunks {
		if host.GetSentLocalResponse(id) != nil {
			break
		}
		action = host.CallOnRequestBody(id, c, i == len(chunks)-1)
	}
	var o Outcome
	if r := host.GetSentLocalResponse(id); r != nil {
		o = Outcome{Status: int(r.StatusCode), Body: r.Data, Headers: r.Headers}
	} else {
		o.Upstream = host.GetCurrentRequestHeaders(id)
		resp := append([][2]string{{":status", "200"}}, UpstreamResponse...)
		host.CallOnResponseHeaders(id, resp, true)
		o.Response = host.GetCurrentResponseHeaders(id)
	}
	host.CompleteHttpContext(id)
	return o, action
}

// Normalized returns o with header names lower-cased, pseudo-headers dropped and pairs sorted,
// so outcomes from different hosts compare with ==-style equality.
func (o Outcome) Normalized() Outcome {
	norm := func(hs [][2]string) [][2]string {
		var out [][2]string
		for _, kv := range hs {
			if name := strings.ToLower(kv[0]); !strings.HasPrefix(name, ":") {
				out = append(out, [2]string{name, kv[1]})
			}
		}
		slices.SortFunc(out, func(a, b [2]string) int {
			if c := strings.Compare(a[0], b[0]); c != 0 {
				return c
			}
			return strings.Compare(a[1], b[1])
		})
		return out
	}
	return Outcome{Status: o.Status, Body: o.Body, Headers: norm(o.Headers), Upstream: norm(o.Upstream), Response: norm(o.Response)}
}
