package wasmhost_test

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// TestProperties: the probe reads properties with the SDK's own decoders (package properties),
// so this proves the host encodes them as Envoy does.
func TestProperties(t *testing.T) {
	h := probeHost(t, wasmhost.Options{
		Clock:      wasmhost.NewFakeClock(epoch),
		PluginName: "probe-plugin", RootID: "probe-root", VMID: "probe-vm",
	})
	s := h.NewStream(wasmhost.StreamInfo{
		Source:       netip.MustParseAddrPort("10.1.2.3:4567"),
		Destination:  netip.MustParseAddrPort("[::1]:8080"),
		Protocol:     "HTTP/2",
		ConnectionID: 42,
	})
	defer s.Done()
	r := s.RequestHeaders([][2]string{
		{":method", "POST"}, {":path", "/a/b?x=1"}, {":authority", "example.com"}, {":scheme", "https"},
		{"x-probe", "props"}, {"x-request-id", "req-1"}, {"x-two", "a"}, {"x-two", "b"},
	}, true)
	got := map[string]string{}
	for _, line := range strings.Split(localBody(t, r), "\n") {
		k, v, _ := strings.Cut(line, "=")
		got[k] = v
	}
	want := map[string]string{
		"source.address":      "10.1.2.3:4567",
		"source.port":         "4567",
		"destination.address": "[::1]:8080",
		"destination.port":    "8080",
		"connection.id":       "42",
		"request.path":        "/a/b?x=1",
		"request.url_path":    "/a/b",
		"request.query":       "x=1",
		"request.host":        "example.com",
		"request.method":      "POST",
		"request.scheme":      "https",
		"request.id":          "req-1",
		"request.protocol":    "HTTP/2",
		"request.time":        strconv.FormatInt(epoch.UnixNano(), 10),
		"request.headers":     "x-probe:props,x-request-id:req-1,x-two:a,b",
		"plugin_name":         "probe-plugin",
		"plugin_root_id":      "probe-root",
		"plugin_vm_id":        "probe-vm",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
}

// TestPropertiesHook: Options.Properties answers first, with the stream's info.
func TestPropertiesHook(t *testing.T) {
	h := probeHost(t, wasmhost.Options{
		Properties: func(info *wasmhost.StreamInfo, path []string) ([]byte, bool) {
			if info != nil && strings.Join(path, ".") == "request.id" {
				return []byte("from-hook-" + strconv.FormatUint(info.ConnectionID, 10)), true
			}
			return nil, false
		},
	})
	s := h.NewStream(wasmhost.StreamInfo{ConnectionID: 7})
	defer s.Done()
	body := localBody(t, s.RequestHeaders(request("props"), true))
	if !strings.Contains(body, "request.id=from-hook-7\n") || !strings.Contains(body, "source.address=err:not_found\n") {
		t.Fatalf("probe saw:\n%s", body)
	}
}
