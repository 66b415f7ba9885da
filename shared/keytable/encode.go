package keytable

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/shared/policy"
)

// ErrInvalidKeys is returned by Encode for keys that cannot form a table.
var ErrInvalidKeys = errors.New("invalid keys")

// Encode writes keys as a table. It checks what the format needs (64 hex digits, unique
// hashes, strings that fit and join unambiguously); Parse checks the rest.
func Encode(keys []policy.Key) ([]byte, error) {
	if len(keys) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: %d keys", ErrInvalidKeys, len(keys))
	}
	hashes := make([][32]byte, len(keys))
	order := make([]int, len(keys))
	tierNames := map[string]int{}
	for i := range keys {
		k := &keys[i]
		if n, err := hex.Decode(hashes[i][:], []byte(k.SHA256)); err != nil || n != 32 || len(k.SHA256) != 64 {
			return nil, fmt.Errorf("%w: keys[%d].sha256 is not 64 hex digits", ErrInvalidKeys, i)
		}
		order[i] = i
		if k.Tier != "" {
			tierNames[k.Tier] = 0
		}
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(hashes[a][:], hashes[b][:]) })
	for j := 1; j < len(order); j++ {
		if hashes[order[j]] == hashes[order[j-1]] {
			return nil, fmt.Errorf("%w: keys[%d].sha256 duplicates keys[%d].sha256", ErrInvalidKeys, order[j], order[j-1])
		}
	}
	tiers := make([]string, 0, len(tierNames))
	for name := range tierNames {
		tiers = append(tiers, name)
	}
	slices.Sort(tiers) // deterministic
	for i, name := range tiers {
		tierNames[name] = i + 1
	}

	p := pool{seen: map[string]ref{}}
	tierRefs := make([]ref, len(tiers))
	for i, name := range tiers {
		tierRefs[i] = p.shared(name)
	}
	recs := make([]byte, len(keys)*RecordSize)
	for j, i := range order {
		k := &keys[i]
		r := recs[j*RecordSize : (j+1)*RecordSize]
		copy(r[offHash:], hashes[i][:])
		var flags byte
		if k.Active {
			flags |= flagActive
		}
		if k.Admin {
			flags |= flagAdmin
		}
		if k.Staff {
			flags |= flagStaff
		}
		if !k.ExpiresAt.IsZero() {
			flags |= flagExpires
			binary.LittleEndian.PutUint64(r[offSec:], uint64(k.ExpiresAt.Unix()))
			binary.LittleEndian.PutUint32(r[offNsec:], uint32(k.ExpiresAt.Nanosecond()))
		}
		r[offFlags] = flags
		binary.LittleEndian.PutUint16(r[offTier:], uint16(tierNames[k.Tier]))
		perms, err := join(k.Permissions, ',', i, "permissions")
		if err != nil {
			return nil, err
		}
		paths, err := join(k.AllowedPaths, ' ', i, "allowed_paths")
		if err != nil {
			return nil, err
		}
		p.unique(k.ID).put(r[offID:])
		p.unique(k.Name).put(r[offName:])
		p.shared(perms).put(r[offPerms:])
		p.shared(paths).put(r[offPaths:])
	}
	if p.overflow {
		return nil, fmt.Errorf("%w: the keys' strings exceed 4 GiB", ErrInvalidKeys)
	}
	out := make([]byte, 0, headerSize+len(tierRefs)*refSize+len(recs)+len(p.buf))
	out = append(out, Magic...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(keys)))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(tiers)))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(p.buf)))
	for _, t := range tierRefs {
		out = t.append(out)
	}
	out = append(out, recs...)
	return append(out, p.buf...), nil
}

// join joins a list with sep, refusing entries that would make the join ambiguous (the
// policy's rules refuse them anyway; this keeps Encode safe on unvalidated input).
func join(list []string, sep byte, i int, field string) (string, error) {
	for j, s := range list {
		if s == "" || strings.IndexByte(s, sep) >= 0 {
			return "", fmt.Errorf("%w: keys[%d].%s[%d] is empty or holds %q", ErrInvalidKeys, i, field, j, sep)
		}
	}
	return strings.Join(list, string(sep)), nil
}

type ref struct{ off, n uint32 }

func (r ref) put(b []byte) {
	binary.LittleEndian.PutUint32(b, r.off)
	binary.LittleEndian.PutUint32(b[4:], r.n)
}

func (r ref) append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, r.off)
	return binary.LittleEndian.AppendUint32(b, r.n)
}

// pool collects the strings. Permission and path lists repeat across keys (a tenant's keys
// share them), so they are stored once; ids and names are unique and appended as they come.
type pool struct {
	buf      []byte
	seen     map[string]ref
	overflow bool
}

func (p *pool) unique(s string) ref {
	if uint64(len(p.buf))+uint64(len(s)) > math.MaxUint32 {
		p.overflow = true
		return ref{}
	}
	r := ref{uint32(len(p.buf)), uint32(len(s))}
	p.buf = append(p.buf, s...)
	return r
}

func (p *pool) shared(s string) ref {
	if s == "" {
		return ref{}
	}
	if r, ok := p.seen[s]; ok {
		return r
	}
	r := p.unique(s)
	p.seen[s] = r
	return r
}
