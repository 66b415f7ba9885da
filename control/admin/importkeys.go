package admin

import (
	"context"
	"encoding/hex"
	"errors"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/store"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// Bulk import of pre-hashed keys (POST /v1/keys:import): every line is validated with the rules
// of CreateKey, every key is stored in one Write transaction (all or nothing), audited in one
// entry and published in one version. Lines are inserted while they stream in, in batches; after
// the first bad line nothing more is inserted (the transaction will roll back) but every line is
// still checked, so one answer lists the problems of the whole file (up to strictjson.MaxErrors).

// MaxImportKeys bounds the keys of one import, and with them the memory of its duplicate check
// (about 100 bytes a key).
const MaxImportKeys = 1_000_000

// importBatch is how many keys are checked against the store and inserted at once.
const importBatch = 2000

// ImportKey is one line of an import: a key known only by the SHA-256 of its secret.
type ImportKey struct {
	NewKey
	// ID is optional: one is generated when empty.
	ID string
	// SHA256 is the hex SHA-256 of the raw key (lower or upper case).
	SHA256 string
}

// ImportLine is one decoded line: the key, or Err, the line's own *strictjson.Errors or
// *strictjson.SyntaxError (paths relative to the line). N counts lines from 1.
type ImportLine struct {
	N   int
	Key ImportKey
	Err error
}

// ImportResult is what an import stored.
type ImportResult struct {
	Imported int
	Version  uint64
}

// ImportKeys stores the keys of lines, a stream that yields each line or a non-nil error that
// ends the import (a body read error, an over-long body). Problems are *strictjson.Errors with
// paths "line[N].field"; nothing is stored unless every line is valid and no id or hash is
// repeated in the file or already stored.
func (s *Service) ImportKeys(ctx context.Context, who auth.Principal, lines iter.Seq2[ImportLine, error]) (res ImportResult, err error) {
	now := s.now()
	err = s.store.Write(ctx, func(tx store.Tx) error {
		// The version first, so that the keys are written with it: bumped after, the store
		// would stamp every imported row a second time (Tx.KeysChangedSince).
		st, err := tx.BumpVersion(ctx, now)
		if err != nil {
			return err
		}
		tiers, err := currentTiers(ctx, tx)
		if err != nil {
			return err
		}
		im := importer{ctx: ctx, tx: tx, now: now, seenHash: make(map[[32]byte]int32), seenID: make(map[string]int32)}
		for ln, err := range lines {
			if err != nil {
				return err
			}
			if im.count == MaxImportKeys {
				im.d.Errorf(lineField(ln.N, ""), "more than %d keys in one import: split the file", MaxImportKeys)
				break
			}
			im.count++
			if err := im.add(ln, now, tiers, s); err != nil {
				return err
			}
		}
		if err := im.flush(); err != nil {
			return err
		}
		if err := im.d.Err(); err != nil {
			return byLine(err)
		}
		if im.count == 0 {
			return invalid("", "no keys: the body must hold one JSON object per line")
		}
		res = ImportResult{Imported: im.count, Version: st.Version}
		return audit(ctx, tx, now, who, "key.import", "keys", st.Version, nil,
			importAudit{Imported: im.count, FirstID: im.firstID, LastID: im.lastID})
	})
	if err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

// importAudit is the one audit entry of an import: how many keys, and the first and last ids in
// the file's order (the keys themselves are listed by GET /v1/keys).
type importAudit struct {
	Imported int    `json:"imported"`
	FirstID  string `json:"first_id"`
	LastID   string `json:"last_id"`
}

// importer is the state of one import inside its transaction.
type importer struct {
	ctx   context.Context
	tx    store.Tx
	now   time.Time
	d     strictjson.Decoder
	count int
	// seenHash and seenID hold the file's hashes (decoded) and given ids, with their lines.
	seenHash        map[[32]byte]int32
	seenID          map[string]int32
	batch           []store.Key
	batchLines      []int32
	firstID, lastID string
}

func (im *importer) add(ln ImportLine, now time.Time, tiers map[string]bool, s *Service) error {
	in := ln.Key
	k := store.Key{ID: in.ID, Name: in.Name, SHA256: in.SHA256, Active: true, AllowedPaths: in.AllowedPaths,
		Permissions: in.Permissions, Admin: in.Admin, Staff: in.Staff, Tier: in.Tier, CreatedAt: now, UpdatedAt: now}
	if in.Active != nil {
		k.Active = *in.Active
	}
	if !in.ExpiresAt.IsZero() {
		k.ExpiresAt = in.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	given := k.ID != ""
	if !given {
		id, err := auth.NewID(s.rand, "key_")
		if err != nil {
			return err
		}
		k.ID = id
	}
	// A malformed hash is reported by validateKey; a well-formed one is checked for repeats.
	var sum [32]byte
	if _, err := hex.Decode(sum[:], []byte(k.SHA256)); err == nil && len(k.SHA256) == 64 {
		k.SHA256 = hex.EncodeToString(sum[:]) // lower case, as the store keeps hashes
		if first, dup := im.seenHash[sum]; dup {
			im.d.Errorf(lineField(ln.N, "sha256"), "duplicates line %d", first)
			return nil // in no batch, where the snapshot check would report it again
		} else {
			im.seenHash[sum] = int32(ln.N)
		}
	}
	if given {
		if first, dup := im.seenID[k.ID]; dup {
			im.d.Errorf(lineField(ln.N, "id"), "duplicates line %d", first)
			return nil
		} else {
			im.seenID[k.ID] = int32(ln.N)
		}
	}
	// As for one key, the fields that decoded are checked too, so one answer lists every
	// problem of the line.
	if ln.Err != nil {
		// As for one key, the fields that decoded are checked too, so one answer lists every
		// problem of the line; it will not be stored, so it joins no batch.
		im.lineErrors(ln.N, WithCheck(ln.Err, func() error { return validateKey(&k, now, tiers) }))
		return nil
	}
	checkKeyFields(&im.d, lineField(ln.N, "")+".", &k, now, tiers)
	if im.firstID == "" {
		im.firstID = k.ID
	}
	im.lastID = k.ID
	im.batch = append(im.batch, k)
	im.batchLines = append(im.batchLines, int32(ln.N))
	if len(im.batch) == importBatch {
		return im.flush()
	}
	return nil
}

// flush checks the batch against the stored keys and, while the import has no problem, stores it.
func (im *importer) flush() error {
	if len(im.batch) == 0 {
		return nil
	}
	// The filter's rules, one snapshot round trip for the whole batch.
	snapshotProblems(im.batch, im.now, func(i int, field, msg string) {
		im.d.Errorf(lineField(int(im.batchLines[i]), field), "%s", msg)
	})
	ids := make([]string, len(im.batch))
	hashes := make([]string, len(im.batch))
	for i, k := range im.batch {
		ids[i], hashes[i] = k.ID, k.SHA256
	}
	storedIDs, storedHashes, err := im.tx.KeyConflicts(im.ctx, ids, hashes)
	if err != nil {
		return err
	}
	if len(storedIDs)+len(storedHashes) > 0 {
		isID, isHash := setOf(storedIDs), setOf(storedHashes)
		for i, k := range im.batch {
			if isID[k.ID] {
				im.d.Errorf(lineField(int(im.batchLines[i]), "id"), "an existing key has this id")
			}
			if isHash[k.SHA256] {
				im.d.Errorf(lineField(int(im.batchLines[i]), "sha256"), "an existing key has this hash")
			}
		}
	}
	if im.d.Err() == nil {
		if err := im.tx.InsertKeys(im.ctx, im.batch); err != nil {
			return err
		}
	}
	im.batch, im.batchLines = im.batch[:0], im.batchLines[:0]
	return nil
}

// lineErrors adds a line's problems under its path.
func (im *importer) lineErrors(n int, err error) {
	var (
		fe *strictjson.Errors
		se *strictjson.SyntaxError
	)
	switch {
	case errors.As(err, &fe):
		for _, e := range fe.List {
			im.d.Errorf(lineField(n, e.Path), "%s", e.Msg)
		}
		if fe.Dropped > 0 {
			im.d.Errorf(lineField(n, ""), "and %d more problems", fe.Dropped)
		}
	case errors.As(err, &se):
		im.d.Errorf(lineField(n, ""), "not valid JSON: %v", se)
	default:
		im.d.Errorf(lineField(n, ""), "%v", err)
	}
}

// byLine orders an import's problems by line: a batch's snapshot check reports its lines'
// problems after the checks made as each line arrived.
func byLine(err error) error {
	var fe *strictjson.Errors
	if errors.As(err, &fe) {
		slices.SortStableFunc(fe.List, func(a, b strictjson.FieldError) int { return lineOf(a.Path) - lineOf(b.Path) })
	}
	return err
}

// lineOf is N of a path "line[N]…" (0 for the body as a whole).
func lineOf(path string) int {
	rest, ok := strings.CutPrefix(path, "line[")
	if !ok {
		return 0
	}
	num, _, _ := strings.Cut(rest, "]")
	n, _ := strconv.Atoi(num)
	return n
}

// lineField is the path of a field of line n: "line[12].sha256".
func lineField(n int, field string) string {
	p := "line[" + strconv.Itoa(n) + "]"
	if field == "" {
		return p
	}
	return p + "." + field
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[v] = true
	}
	return m
}
