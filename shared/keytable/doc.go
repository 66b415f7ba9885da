// Package keytable is the API-key table as the filter holds it and as a snapshot carries it:
// compact binary key records sorted by SHA-256, with their strings in one pool. Decoding a
// table is a bounds-checked copy and one pass over the records, not a parse, and looking a
// key up touches a bucket index and a few records, whatever the number of keys.
//
// # Format
//
// All integers are little-endian. A table is
//
//	magic    [8]byte  "pckeys1\n"
//	count    uint32   number of records
//	tiers    uint32   number of tier names
//	poolLen  uint32   bytes of the string pool
//	tierRefs [tiers]ref   tier names (index 1..tiers; 0 means "no tier")
//	records  [count][RecordSize]byte, strictly ascending by hash
//	pool     [poolLen]byte
//
// where a ref is (offset uint32, length uint32) into the pool and a record is
//
//	hash      [32]byte  SHA-256 of the raw key
//	expSec    int64     expiry, Unix seconds (flag expires)
//	expNsec   uint32    expiry, nanoseconds below 1e9
//	flags     uint8     1 active, 2 admin, 4 staff, 8 expires
//	reserved  uint8     0
//	tier      uint16    0 or 1..tiers
//	id, name  ref
//	perms     ref       permissions joined by ',' (a permission never holds one)
//	paths     ref       allowed path prefixes joined by ' ' (a prefix never holds one)
//
// Encode is deterministic: the same keys give the same bytes, so replicas sign identical
// snapshots. Parse applies the rules policy applies to JSON keys (ids, names, permissions,
// path prefixes, unique hashes) except that key ids are not checked for uniqueness in the VM:
// the control server decodes every payload it signs with snapshot.Decode, which does.
package keytable

// Magic starts every encoded table.
const Magic = "pckeys1\n"

// RecordSize is the size of one encoded key record.
const RecordSize = 80

const (
	headerSize = len(Magic) + 12
	refSize    = 8

	flagActive  = 1
	flagAdmin   = 2
	flagStaff   = 4
	flagExpires = 8
	knownFlags  = flagActive | flagAdmin | flagStaff | flagExpires

	offHash  = 0
	offSec   = 32
	offNsec  = 40
	offFlags = 44
	offRsv   = 45
	offTier  = 46
	offID    = 48
	offName  = 56
	offPerms = 64
	offPaths = 72
)
