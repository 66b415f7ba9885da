package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/shared/engine"
)

// IP lists on the client address: what address a request is judged by, and how lists match.
func TestClientAddressAndIPLists(t *testing.T) {
	policyWith := func(hops int, allow, deny string) *engine.Engine {
		return compile(t, fmt.Sprintf(`{"version":1,"trusted_proxy_hops":%d,"routes":[
			{"name":"r","match":{"path_prefix":"/"},"auth":{"type":"none"},"ip_allow":[%s],"ip_deny":[%s]}]}`, hops, allow, deny))
	}
	tests := []struct {
		name    string
		hops    int
		allow   string
		deny    string
		source  string
		xff     []string // x-forwarded-for header lines
		allowed bool
	}{
		{"in a /8", 0, `"10.0.0.0/8"`, ``, "10.1.2.3:1", nil, true},
		{"outside a /8", 0, `"10.0.0.0/8"`, ``, "11.1.2.3:1", nil, false},
		{"/32 exact", 0, `"192.0.2.7/32"`, ``, "192.0.2.7:9", nil, true},
		{"/32 neighbour", 0, `"192.0.2.7/32"`, ``, "192.0.2.8:9", nil, false},
		{"single address entry", 0, `"192.0.2.7"`, ``, "192.0.2.7:9", nil, true},
		{"/0 admits every IPv4", 0, `"0.0.0.0/0"`, ``, "203.0.113.9:1", nil, true},
		{"/0 IPv4 does not admit IPv6", 0, `"0.0.0.0/0"`, ``, "[2001:db8::1]:1", nil, false},
		{"::/0 admits every IPv6", 0, `"::/0"`, ``, "[2001:db8::1]:1", nil, true},
		{"/128 exact", 0, `"2001:db8::1/128"`, ``, "[2001:db8::1]:1", nil, true},
		{"/128 neighbour", 0, `"2001:db8::1/128"`, ``, "[2001:db8::2]:1", nil, false},
		{"IPv4-mapped client judged as IPv4", 0, `"10.0.0.0/8"`, ``, "[::ffff:10.0.0.1]:1", nil, true},
		{"IPv4-mapped entry judged as IPv4", 0, `"::ffff:10.0.0.0/104"`, ``, "10.9.9.9:1", nil, true},
		{"deny wins over allow", 0, `"10.0.0.0/8"`, `"10.0.0.0/24"`, "10.0.0.5:1", nil, false},
		{"deny only", 0, ``, `"10.0.0.0/24"`, "10.0.1.5:1", nil, true},
		{"no source address", 0, `"0.0.0.0/0","::/0"`, ``, "", nil, false},
		{"garbage source address", 0, `"0.0.0.0/0"`, ``, "not-an-ip", nil, false},
		{"zone in the source is dropped", 0, `"fe80::/10"`, ``, "[fe80::1%eth0]:1", nil, true},
		{"spoofed x-forwarded-for, zero hops", 0, `"10.0.0.0/8"`, ``, "203.0.113.1:1", []string{"10.0.0.1"}, false},
		{"one trusted hop: rightmost entry", 1, `"10.0.0.0/8"`, ``, "192.0.2.1:1", []string{"203.0.113.5, 10.0.0.1"}, true},
		{"one trusted hop: spoofed left entry ignored", 1, `"10.0.0.0/8"`, ``, "192.0.2.1:1", []string{"10.0.0.1, 203.0.113.5"}, false},
		{"two hops across header lines", 2, `"10.0.0.0/8"`, ``, "192.0.2.1:1", []string{"10.0.0.7", "198.51.100.1"}, true},
		{"more hops than entries", 3, `"0.0.0.0/0"`, ``, "192.0.2.1:1", []string{"10.0.0.7, 198.51.100.1"}, false},
		{"no x-forwarded-for with a trusted hop", 1, `"0.0.0.0/0"`, ``, "192.0.2.1:1", nil, false},
		{"garbage in the trusted entry", 1, `"0.0.0.0/0"`, ``, "192.0.2.1:1", []string{"10.0.0.1, <script>"}, false},
		{"empty trusted entry", 1, `"0.0.0.0/0"`, ``, "192.0.2.1:1", []string{"10.0.0.1, "}, false},
		{"trusted entry with a port", 1, `"10.0.0.0/8"`, ``, "192.0.2.1:1", []string{"10.0.0.1:4711"}, true},
		{"trusted IPv6 entry", 1, `"2001:db8::/32"`, ``, "192.0.2.1:1", []string{" 2001:db8::9 "}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := policyWith(tt.hops, tt.allow, tt.deny)
			var hs [][2]string
			for _, v := range tt.xff {
				hs = append(hs, [2]string{"x-forwarded-for", v})
			}
			d := e.Decide(&engine.Request{Method: "GET", Authority: "h", Path: "/x", Source: tt.source, Headers: hs})
			if d.Allow != tt.allowed {
				t.Fatalf("allow = %v, want %v (%s)", d.Allow, tt.allowed, d.Code)
			}
			if !d.Allow && (d.Code != "ip_denied" || d.Status != 403 || d.Stage != engine.StageClient) {
				t.Fatalf("denial %d %s %v, want 403 ip_denied at stage client", d.Status, d.Code, d.Stage)
			}
		})
	}
}

// Global lists apply to every route; a route adds its own. Policies without IP rules never
// ask the host for the client address.
func TestGlobalIPListsAndNeedsClientAddress(t *testing.T) {
	e := compile(t, `{"version":1,"ip_deny":["192.0.2.0/24"],"routes":[
		{"name":"a","match":{"path_prefix":"/a"},"auth":{"type":"none"},"ip_allow":["192.0.2.0/23"]},
		{"name":"b","match":{"path_prefix":"/b"},"auth":{"type":"none"}}]}`)
	if !e.NeedsClientAddress() {
		t.Fatal("NeedsClientAddress = false with IP lists")
	}
	for _, tt := range []struct {
		path, source string
		allowed      bool
	}{
		{"/a", "192.0.3.1:1", true},
		{"/a", "192.0.2.1:1", false}, // global deny
		{"/b", "192.0.2.1:1", false}, // global deny on a route without lists
		{"/b", "203.0.113.1:1", true},
	} {
		d := e.Decide(&engine.Request{Method: "GET", Authority: "h", Path: tt.path, Source: tt.source})
		if d.Allow != tt.allowed {
			t.Errorf("%s from %s: allow = %v (%s)", tt.path, tt.source, d.Allow, d.Code)
		}
	}
	if compile(t, `{"version":1,"routes":[{"name":"a","match":{"path_prefix":"/"},"auth":{"type":"none"}}]}`).NeedsClientAddress() {
		t.Fatal("NeedsClientAddress = true without IP lists")
	}
}

// A large list is built once and looked up by prefix length, whatever its size.
func TestLargeIPList(t *testing.T) {
	e := compile(t, largeIPPolicy(10_000))
	for _, tt := range []struct {
		source  string
		allowed bool
	}{{"10.0.0.1:1", true}, {"10.39.15.200:1", true}, {"10.39.16.1:1", false}, {"11.0.0.1:1", false}} {
		if d := e.Decide(&engine.Request{Method: "GET", Authority: "h", Path: "/", Source: tt.source}); d.Allow != tt.allowed {
			t.Errorf("%s: allow = %v", tt.source, d.Allow)
		}
	}
}

// largeIPPolicy allows n consecutive /24s from 10.0.0.0 (n ≤ 65536).
func largeIPPolicy(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"10.%d.%d.0/24"`, i/256, i%256)
	}
	return `{"version":1,"routes":[{"name":"r","match":{"path_prefix":"/"},"auth":{"type":"none"},"ip_allow":[` + b.String() + `]}]}`
}

func BenchmarkIPList(b *testing.B) {
	for _, n := range []int{1, 100, 10_000} {
		e := compile(b, largeIPPolicy(n))
		req := &engine.Request{Method: "GET", Authority: "h", Path: "/", Source: "10.0.0.77:1"}
		if !e.Decide(req).Allow {
			b.Fatal("setup: denied")
		}
		b.Run(fmt.Sprintf("cidrs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Decide(req)
			}
		})
	}
}

// The host's address lookup (a property read in the filter) runs only for routes that judge
// the address, and at most once a request.
func TestSourceFuncOnlyWhereNeeded(t *testing.T) {
	e := compile(t, `{"version":1,"routes":[
		{"name":"ip","match":{"path_prefix":"/ip"},"auth":{"type":"none"},"ip_allow":["10.0.0.0/8"],"ip_deny":["10.1.0.0/16"]},
		{"name":"open","match":{"path_prefix":"/open"},"auth":{"type":"none"}}]}`)
	calls := 0
	source := func() string { calls++; return "10.0.0.1:1" }
	if d := e.Decide(&engine.Request{Method: "GET", Authority: "h", Path: "/open", SourceFunc: source}); !d.Allow || calls != 0 {
		t.Fatalf("route without IP rules: allow %v, %d lookups", d.Allow, calls)
	}
	if d := e.Decide(&engine.Request{Method: "GET", Authority: "h", Path: "/ip", SourceFunc: source}); !d.Allow || calls != 1 {
		t.Fatalf("route with IP rules: allow %v, %d lookups (want 1)", d.Allow, calls)
	}
}
