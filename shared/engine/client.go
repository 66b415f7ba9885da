package engine

import (
	"net/netip"
	"strings"
)

// clientAddr returns the client address: the connection's source address, or with
// trusted_proxy_hops N > 0 the N-th x-forwarded-for entry from the right (each trusted proxy
// appends the address it saw, so the entries left of it are the client's own claims). ok is
// false when that entry is missing or not an address: such a request is never judged by an
// address it may have chosen. IPv4-mapped IPv6 addresses are returned as IPv4.
func (f *flow) clientAddr() (netip.Addr, bool) {
	if f.clientTried {
		return f.client, f.clientKnown
	}
	f.clientTried = true
	var s string
	if hops := f.e.trustedHops; hops > 0 {
		s = xffEntry(f.r.Headers, hops)
	} else if s = f.r.Source; s == "" && f.r.SourceFunc != nil {
		s = f.r.SourceFunc()
	}
	a, ok := parseClientAddr(s)
	f.client, f.clientKnown = a, ok
	return a, ok
}

// parseClientAddr reads "ip", "ip:port" or "[ipv6]:port". A link-local zone is dropped: lists
// name addresses, not interfaces.
func parseClientAddr(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// xffEntry returns the n-th entry from the right of the x-forwarded-for list (every occurrence
// of the header, in order, as one comma-separated list), trimmed; "" when there are fewer.
func xffEntry(headers [][2]string, n int) string {
	for i := len(headers) - 1; i >= 0; i-- {
		if !equalFold(headers[i][0], "x-forwarded-for") {
			continue
		}
		v := headers[i][1]
		for {
			j := strings.LastIndexByte(v, ',')
			entry := v[j+1:]
			if n--; n == 0 {
				return trimSpace(entry)
			}
			if j < 0 {
				break
			}
			v = v[:j]
		}
	}
	return ""
}
