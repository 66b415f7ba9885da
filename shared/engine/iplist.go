package engine

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/portcullis/portcullis/shared/policy"
)

// ipSet is a set of CIDRs with a lookup cost independent of its size: one map probe per
// distinct prefix length present (at most 33 for IPv4, 129 for IPv6), whatever the count.
type ipSet struct {
	v4     map[ipKey]struct{}
	v6     map[ipKey]struct{}
	v4Bits []int // distinct prefix lengths, longest first
	v6Bits []int
}

type ipKey struct {
	addr [16]byte
	bits int
}

func newIPSet(list []string) (*ipSet, error) {
	if len(list) == 0 {
		return nil, nil
	}
	s := &ipSet{v4: map[ipKey]struct{}{}, v6: map[ipKey]struct{}{}}
	for _, e := range list {
		p, msg := policy.ParseCIDR(e)
		if msg != "" {
			return nil, fmt.Errorf("ip list entry %q %s", e, msg)
		}
		k := ipKey{addr: p.Addr().As16(), bits: p.Bits()}
		if p.Addr().Is4() {
			s.v4[k] = struct{}{}
			if !slices.Contains(s.v4Bits, p.Bits()) {
				s.v4Bits = append(s.v4Bits, p.Bits())
			}
		} else {
			s.v6[k] = struct{}{}
			if !slices.Contains(s.v6Bits, p.Bits()) {
				s.v6Bits = append(s.v6Bits, p.Bits())
			}
		}
	}
	slices.SortFunc(s.v4Bits, func(a, b int) int { return b - a })
	slices.SortFunc(s.v6Bits, func(a, b int) int { return b - a })
	return s, nil
}

func (s *ipSet) contains(a netip.Addr) bool {
	m, bits := s.v6, s.v6Bits
	if a.Is4() {
		m, bits = s.v4, s.v4Bits
	}
	for _, b := range bits {
		p, err := a.Prefix(b)
		if err != nil {
			continue
		}
		if _, ok := m[ipKey{addr: p.Addr().As16(), bits: b}]; ok {
			return true
		}
	}
	return false
}

// ipCheck refuses clients outside the allow lists or inside a deny list. Every allow list
// (global, route) must admit the client; any deny list refuses it. A client whose address is
// unknown (no source address, or a missing or malformed trusted x-forwarded-for entry) is
// refused: an IP rule never judges an address the client may have chosen.
type ipCheck struct {
	allow, deny []*ipSet
}

func (c *ipCheck) onHeaders(f *flow) Code {
	a, ok := f.clientAddr()
	if !ok {
		return CodeIPDenied
	}
	for _, s := range c.deny {
		if s.contains(a) {
			return CodeIPDenied
		}
	}
	for _, s := range c.allow {
		if !s.contains(a) {
			return CodeIPDenied
		}
	}
	return ""
}
