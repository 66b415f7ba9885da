package policy

import (
	"net/netip"
	"strings"

	"github.com/portcullis/portcullis/shared/strictjson"
)

// Bounds for IP lists and proxy hops.
const (
	MaxIPListEntries = 100_000
	maxTrustedHops   = 10
)

// ParseCIDR reads an IP list entry: a CIDR with its host bits clear, or a single address (a /32
// or /128). IPv4-mapped IPv6 entries are turned into IPv4, as client addresses are. It returns
// a description of the problem when the entry is invalid.
func ParseCIDR(s string) (netip.Prefix, string) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, "must be an IP address or a CIDR such as 10.0.0.0/8 or 2001:db8::/32"
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), ""
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, "must be an IP address or a CIDR such as 10.0.0.0/8 or 2001:db8::/32"
	}
	if p.Masked() != p {
		return netip.Prefix{}, "has host bits set: write " + p.Masked().String()
	}
	if a := p.Addr(); a.Is4In6() {
		// A masked prefix of a mapped address is at least /96 (the ffff bits are set).
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, ""
}

func checkIPList(d *strictjson.Decoder, list []string, path string) {
	if len(list) > MaxIPListEntries {
		d.Errorf(path, "has more than %d entries", MaxIPListEntries)
		return
	}
	for i, s := range list {
		if _, msg := ParseCIDR(s); msg != "" {
			d.Errorf(strictjson.Index(path, i), "%s", msg)
		}
	}
}
