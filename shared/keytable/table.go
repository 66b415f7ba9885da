package keytable

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"
	"unsafe"

	"github.com/portcullis/portcullis/shared/policy"
)

// ErrMalformed wraps every Parse error.
var ErrMalformed = errors.New("malformed key table")

// Table is a parsed key table. It is immutable and safe for concurrent use.
type Table struct {
	recs  []byte // count records, ascending by hash
	pool  []byte // the strings; records refer to them by offset
	tiers []string
	n     int
	// index[b] is the first record whose hash's top bits are >= b, for 2^bits buckets (plus
	// one end entry): SHA-256 spreads keys evenly, so a bucket holds about two records and a
	// lookup costs the same at 10 keys and at 1,000,000.
	index []uint32
	shift uint
	// usesTier[t] reports whether some record names tier t (0: no tier).
	usesTier []bool
}

// Parse checks an encoded table and returns it, read in place: decoding a million keys copies
// nothing and allocates only the bucket index.
//
// # Notes
//
// The table keeps b, and the strings it returns (ids, names, lists) point into it: the caller
// hands b over and must never modify it afterwards. The filter passes the snapshot body it
// read, which nothing else holds.
func Parse(b []byte) (*Table, error) {
	if len(b) < headerSize || string(b[:len(Magic)]) != Magic {
		return nil, fmt.Errorf("%w: no %q header", ErrMalformed, strings.TrimSpace(Magic))
	}
	le := binary.LittleEndian
	count := uint64(le.Uint32(b[len(Magic):]))
	ntiers := uint64(le.Uint32(b[len(Magic)+4:]))
	poolLen := uint64(le.Uint32(b[len(Magic)+8:]))
	if count > policy.MaxKeys {
		return nil, fmt.Errorf("%w: %d keys (at most %d)", ErrMalformed, count, policy.MaxKeys)
	}
	if ntiers > policy.MaxTiers {
		return nil, fmt.Errorf("%w: %d tiers (at most %d)", ErrMalformed, ntiers, policy.MaxTiers)
	}
	recStart := uint64(headerSize) + ntiers*refSize
	poolStart := recStart + count*RecordSize
	if uint64(len(b)) != poolStart+poolLen {
		return nil, fmt.Errorf("%w: %d bytes, want %d for %d keys, %d tiers and %d bytes of strings", ErrMalformed, len(b), poolStart+poolLen, count, ntiers, poolLen)
	}
	t := &Table{
		recs:     b[recStart:poolStart:poolStart],
		pool:     b[poolStart:],
		n:        int(count),
		usesTier: make([]bool, ntiers+1),
	}
	for i := range int(ntiers) {
		s, ok := t.str(b[headerSize+i*refSize:])
		if !ok || s == "" {
			return nil, fmt.Errorf("%w: tier name %d is out of bounds or empty", ErrMalformed, i+1)
		}
		t.tiers = append(t.tiers, s)
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	t.buildIndex()
	return t, nil
}

// check validates every record with the policy's rules. Lists repeat across keys and are
// stored once, so each distinct list is checked once.
func (t *Table) check() error {
	checked := map[uint64]bool{}
	for i := range t.n {
		r := t.rec(i)
		if i > 0 && bytes.Compare(t.rec(i - 1)[:32], r[:32]) >= 0 {
			return fmt.Errorf("%w: record %d: hashes are not strictly ascending (a duplicate key?)", ErrMalformed, i)
		}
		flags := r[offFlags]
		sec, nsec := int64(binary.LittleEndian.Uint64(r[offSec:])), binary.LittleEndian.Uint32(r[offNsec:])
		switch {
		case flags&^knownFlags != 0 || r[offRsv] != 0:
			return fmt.Errorf("%w: record %d: unknown flags", ErrMalformed, i)
		case nsec >= 1e9 || (flags&flagExpires == 0 && (sec != 0 || nsec != 0)):
			return fmt.Errorf("%w: record %d: invalid expiry", ErrMalformed, i)
		}
		tier := int(binary.LittleEndian.Uint16(r[offTier:]))
		if tier >= len(t.usesTier) {
			return fmt.Errorf("%w: record %d: tier %d is not in the table", ErrMalformed, i, tier)
		}
		t.usesTier[tier] = true
		id, ok1 := t.str(r[offID:])
		name, ok2 := t.str(r[offName:])
		if !ok1 || !ok2 || !policy.ValidKeyID(id) || !policy.ValidKeyName(name) {
			return fmt.Errorf("%w: record %d: invalid id or name", ErrMalformed, i)
		}
		for _, f := range [...]struct {
			off  int
			list func(string) bool
		}{{offPerms, validPerms}, {offPaths, validPaths}} {
			at := binary.LittleEndian.Uint64(r[f.off:])
			if checked[at] {
				continue
			}
			s, ok := t.str(r[f.off:])
			if !ok || !f.list(s) {
				return fmt.Errorf("%w: record %d: invalid permissions or allowed paths", ErrMalformed, i)
			}
			checked[at] = true
		}
	}
	return nil
}

func validPerms(s string) bool {
	for p := range splitSeq(s, ',') {
		if !policy.ValidPermission(p) {
			return false
		}
	}
	return true
}

func validPaths(s string) bool {
	for p := range splitSeq(s, ' ') {
		if policy.PathPrefixProblem(p) != "" {
			return false
		}
	}
	return true
}

// splitSeq yields the entries of a joined list ("" yields none).
func splitSeq(s string, sep byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for s != "" {
			var e string
			if i := strings.IndexByte(s, sep); i >= 0 {
				e, s = s[:i], s[i+1:]
				if s == "" { // a trailing separator: an empty last entry
					if !yield(e) {
						return
					}
					e = ""
				}
			} else {
				e, s = s, ""
			}
			if !yield(e) {
				return
			}
		}
	}
}

func (t *Table) buildIndex() {
	b := 0 // 2^b buckets, about two records per bucket
	if t.n > 2 {
		b = bits.Len(uint(t.n-1)) - 1
	}
	t.shift = uint(64 - b)
	t.index = make([]uint32, (1<<b)+1)
	next := 0
	for i := range t.n {
		bucket := t.bucket(t.rec(i))
		for next <= bucket {
			t.index[next] = uint32(i)
			next++
		}
	}
	for ; next < len(t.index); next++ {
		t.index[next] = uint32(t.n)
	}
}

func (t *Table) bucket(hash []byte) int {
	if t.shift == 64 {
		return 0
	}
	return int(binary.BigEndian.Uint64(hash) >> t.shift)
}

func (t *Table) rec(i int) []byte { return t.recs[i*RecordSize : (i+1)*RecordSize : (i+1)*RecordSize] }

// str resolves a ref at the start of b; ok is false when it points outside the pool. The
// string shares the pool's memory, which never changes after Parse (see Parse), so it stays
// valid and constant for as long as anyone holds it.
func (t *Table) str(b []byte) (string, bool) {
	off, n := uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[4:]))
	if off+n > uint64(len(t.pool)) {
		return "", false
	}
	if n == 0 {
		return "", true
	}
	return unsafe.String(&t.pool[off], int(n)), true
}

// Len is the number of keys.
func (t *Table) Len() int { return t.n }

// Tiers are the tier names records refer to, index 1 first.
func (t *Table) Tiers() []string { return t.tiers }

// UsesTier reports whether some key names tier i (0: some key names no tier).
func (t *Table) UsesTier(i int) bool { return i >= 0 && i < len(t.usesTier) && t.usesTier[i] }

// Find returns the index of the key whose hash is sum, or -1. The final comparison is
// constant-time, so the match itself does not depend on how far the hashes agree.
func (t *Table) Find(sum *[32]byte) int {
	if t.n == 0 {
		return -1
	}
	bucket := t.bucket(sum[:])
	lo, hi := int(t.index[bucket]), int(t.index[bucket+1])
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(t.rec(mid)[:32], sum[:]) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < t.n && subtle.ConstantTimeCompare(t.rec(lo)[:32], sum[:]) == 1 {
		return lo
	}
	return -1
}

// Key is one record, read in place.
type Key struct {
	t *Table
	r []byte
}

// At returns key i (0 <= i < Len).
func (t *Table) At(i int) Key { return Key{t, t.rec(i)} }

// Hash is the SHA-256 of the raw key.
func (k Key) Hash() (h [32]byte) { copy(h[:], k.r[:32]); return h }

// Active, Admin and Staff are the key's flags.
func (k Key) Active() bool { return k.r[offFlags]&flagActive != 0 }

// Admin reports the admin flag.
func (k Key) Admin() bool { return k.r[offFlags]&flagAdmin != 0 }

// Staff reports the staff flag.
func (k Key) Staff() bool { return k.r[offFlags]&flagStaff != 0 }

// ExpiresAt is when the key stops working (UTC); zero means never.
func (k Key) ExpiresAt() time.Time {
	if k.r[offFlags]&flagExpires == 0 {
		return time.Time{}
	}
	return time.Unix(int64(binary.LittleEndian.Uint64(k.r[offSec:])), int64(binary.LittleEndian.Uint32(k.r[offNsec:]))).UTC()
}

// ID and Name are the key's id and name.
func (k Key) ID() string { s, _ := k.t.str(k.r[offID:]); return s }

// Name is the key's name ("" if none).
func (k Key) Name() string { s, _ := k.t.str(k.r[offName:]); return s }

// Permissions are the key's permissions joined by ',' (the upstream header's value).
func (k Key) Permissions() string { s, _ := k.t.str(k.r[offPerms:]); return s }

// AllowedPaths are the key's allowed path prefixes joined by ' '.
func (k Key) AllowedPaths() string { s, _ := k.t.str(k.r[offPaths:]); return s }

// Tier is the index of the key's tier name in Tiers plus one, or 0 for none.
func (k Key) Tier() int { return int(binary.LittleEndian.Uint16(k.r[offTier:])) }

// TierName is the key's tier name ("" for none).
func (k Key) TierName() string {
	if i := k.Tier(); i > 0 {
		return k.t.tiers[i-1]
	}
	return ""
}

// Split returns the entries of a list joined by sep (Permissions, AllowedPaths); nil for "".
func Split(s string, sep byte) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, string(sep))
}

// Policy returns the key as a policy.Key that shares no memory with the table (for the control
// server and tests; the filter reads records in place).
func (k Key) Policy() policy.Key {
	h := k.Hash()
	// Copies: the document outlives the table's buffer in the control server.
	return policy.Key{
		ID: strings.Clone(k.ID()), Name: strings.Clone(k.Name()), SHA256: hex.EncodeToString(h[:]), Active: k.Active(),
		AllowedPaths: Split(strings.Clone(k.AllowedPaths()), ' '), Permissions: Split(strings.Clone(k.Permissions()), ','),
		Admin: k.Admin(), Staff: k.Staff(), ExpiresAt: k.ExpiresAt(), Tier: strings.Clone(k.TierName()),
	}
}
