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
// A stored id or hash is found by the insert itself (store.ErrConflict), and only then looked up
// line by line (KeyConflicts).

// MaxImportKeys bounds the keys of one import, and with them the memory of its duplicate check
// (about 100 bytes a key).
const MaxImportKeys = 1_000_000

// importBatchKeys is how many keys are checked against the store and inserted at once.
const importBatchKeys = 2000

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
//
// # Notes
//
// Lines are read, decoded and checked on a goroutine of their own while the batches they make
// are stored on the caller's, so that the two halves of the work, similar in size, overlap.
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
		c := &lineChecker{s: s, now: now, tiers: tiers, seenHash: make(map[[32]byte]int32), seenID: make(map[string]int32)}
		w := &batchWriter{ctx: ctx, tx: tx}
		batches := make(chan importBatch, 1)
		stop := make(chan struct{})
		done := make(chan struct{})
		var (
			checkErr error
			panicked any
		)
		go func() {
			defer close(done)
			defer close(batches)
			defer func() { panicked = recover() }() // raised again below, on the request's goroutine
			checkErr = c.run(lines, batches, stop)
		}()
		var writeErr error
		for b := range batches {
			if writeErr == nil {
				if writeErr = w.write(b); writeErr != nil {
					close(stop)
				}
			}
		}
		<-done
		if panicked != nil {
			panic(panicked)
		}
		if writeErr != nil {
			return writeErr
		}
		if checkErr != nil {
			return checkErr
		}
		if err := byLine(&c.d, &w.d); err != nil {
			return err
		}
		if c.count == 0 {
			return invalid("", "no keys: the body must hold one JSON object per line")
		}
		if err := s.roomForKeys(ctx, tx, 0); err != nil { // the imported keys are stored already
			return err
		}
		res = ImportResult{Imported: c.count, Version: st.Version}
		return audit(ctx, tx, now, who, "key.import", "keys", st.Version, nil,
			importAudit{Imported: c.count, FirstID: c.firstID, LastID: c.lastID})
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

// importBatch is up to importBatchKeys valid keys in the file's order, with their lines; clean
// reports that no line up to the batch's last had a problem.
type importBatch struct {
	keys  []store.Key
	lines []int32
	clean bool
}

// errStopped ends the line checker when the batch writer failed.
var errStopped = errors.New("import: stopped")

// lineChecker decodes and checks the lines of one import, and makes the batches.
type lineChecker struct {
	s     *Service
	now   time.Time
	tiers map[string]bool
	d     strictjson.Decoder
	count int
	// seenHash and seenID hold the file's hashes (decoded) and given ids, with their lines.
	seenHash        map[[32]byte]int32
	seenID          map[string]int32
	batch           importBatch
	firstID, lastID string
}

// run checks every line, sending the batches to out until stop is closed.
func (c *lineChecker) run(lines iter.Seq2[ImportLine, error], out chan<- importBatch, stop <-chan struct{}) error {
	for ln, err := range lines {
		if err != nil {
			return err
		}
		if c.count == MaxImportKeys {
			c.d.Errorf(lineField(ln.N, ""), "more than %d keys in one import: split the file", MaxImportKeys)
			break
		}
		c.count++
		if err := c.add(ln); err != nil {
			return err
		}
		if len(c.batch.keys) == importBatchKeys {
			if err := c.send(out, stop); err != nil {
				return err
			}
		}
	}
	return c.send(out, stop)
}

func (c *lineChecker) add(ln ImportLine) error {
	in, now := ln.Key, c.now
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
		id, err := auth.NewID(c.s.rand, "key_")
		if err != nil {
			return err
		}
		k.ID = id
	}
	// A malformed hash is reported by validateKey; a well-formed one is checked for repeats.
	var sum [32]byte
	if _, err := hex.Decode(sum[:], []byte(k.SHA256)); err == nil && len(k.SHA256) == 64 {
		if strings.ContainsAny(k.SHA256, "ABCDEF") {
			k.SHA256 = hex.EncodeToString(sum[:]) // lower case, as the store keeps hashes
		}
		if first, dup := c.seenHash[sum]; dup {
			c.d.Errorf(lineField(ln.N, "sha256"), "duplicates line %d", first)
			return nil // in no batch, where the snapshot check would report it again
		} else {
			c.seenHash[sum] = int32(ln.N)
		}
	}
	if given {
		if first, dup := c.seenID[k.ID]; dup {
			c.d.Errorf(lineField(ln.N, "id"), "duplicates line %d", first)
			return nil
		} else {
			// A copy: the decoded id shares the memory of its whole line.
			c.seenID[strings.Clone(k.ID)] = int32(ln.N)
		}
	}
	if ln.Err != nil {
		// As for one key, the fields that decoded are checked too, so one answer lists every
		// problem of the line; it will not be stored, so it joins no batch.
		c.lineErrors(ln.N, WithCheck(ln.Err, func() error { return validateKey(&k, now, c.tiers) }))
		return nil
	}
	checkKeyFields(&c.d, lineField(ln.N, "")+".", &k, now, c.tiers)
	if c.firstID == "" {
		c.firstID = k.ID
	}
	c.lastID = k.ID
	if c.batch.keys == nil {
		c.batch = importBatch{keys: make([]store.Key, 0, importBatchKeys), lines: make([]int32, 0, importBatchKeys)}
	}
	c.batch.keys = append(c.batch.keys, k)
	c.batch.lines = append(c.batch.lines, int32(ln.N))
	return nil
}

// send checks the batch with the filter's rules (one snapshot round trip for the whole batch)
// and hands it to the writer.
func (c *lineChecker) send(out chan<- importBatch, stop <-chan struct{}) error {
	b := c.batch
	if len(b.keys) == 0 {
		return nil
	}
	snapshotProblems(b.keys, c.now, func(i int, field, msg string) {
		c.d.Errorf(lineField(int(b.lines[i]), field), "%s", msg)
	})
	b.clean = !c.d.Failed()
	select {
	case out <- b:
	case <-stop:
		return errStopped
	}
	c.batch = importBatch{} // the writer owns the sent one
	return nil
}

// batchWriter stores the batches of one import in its transaction, while the import has no
// problem, and finds the lines whose id or hash is stored already.
type batchWriter struct {
	ctx context.Context
	tx  store.Tx
	d   strictjson.Decoder
}

func (w *batchWriter) write(b importBatch) error {
	conflicted := false
	if b.clean && !w.d.Failed() {
		// Stored ids and hashes are found by the insert itself (the unique indexes): asking
		// first would look each one up twice. A conflict takes the transaction back to before
		// the first batch; KeyConflicts then tells which lines.
		err := w.tx.InsertKeys(w.ctx, b.keys)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		conflicted = true
	}
	// The import fails: nothing more is inserted, but every line is still checked. The keys of
	// earlier batches, if any are still inserted, conflict with no later line (the file's own
	// repeats never reach a batch).
	ids := make([]string, len(b.keys))
	hashes := make([]string, len(b.keys))
	for i, k := range b.keys {
		ids[i], hashes[i] = k.ID, k.SHA256
	}
	storedIDs, storedHashes, err := w.tx.KeyConflicts(w.ctx, ids, hashes)
	if err != nil {
		return err
	}
	isID, isHash := setOf(storedIDs), setOf(storedHashes)
	for i, k := range b.keys {
		if isID[k.ID] {
			w.d.Errorf(lineField(int(b.lines[i]), "id"), "an existing key has this id")
		}
		if isHash[k.SHA256] {
			w.d.Errorf(lineField(int(b.lines[i]), "sha256"), "an existing key has this hash")
		}
	}
	if conflicted && !w.d.Failed() {
		return errors.New("import: the store reported a conflict KeyConflicts does not find")
	}
	return nil
}

// lineErrors adds a line's problems under its path.
func (c *lineChecker) lineErrors(n int, err error) {
	var (
		fe *strictjson.Errors
		se *strictjson.SyntaxError
	)
	switch {
	case errors.As(err, &fe):
		for _, e := range fe.List {
			c.d.Errorf(lineField(n, e.Path), "%s", e.Msg)
		}
		if fe.Dropped > 0 {
			c.d.Errorf(lineField(n, ""), "and %d more problems", fe.Dropped)
		}
	case errors.As(err, &se):
		c.d.Errorf(lineField(n, ""), "not valid JSON: %v", se)
	default:
		c.d.Errorf(lineField(n, ""), "%v", err)
	}
}

// byLine is the problems the checker and the writer found, ordered by line (a line's own
// problems first), nil if none; of more than strictjson.MaxErrors, the first lines' are kept.
func byLine(checker, writer *strictjson.Decoder) error {
	var all strictjson.Errors
	for _, d := range []*strictjson.Decoder{checker, writer} {
		var fe *strictjson.Errors
		if errors.As(d.Err(), &fe) {
			all.List = append(all.List, fe.List...)
			all.Dropped += fe.Dropped
		}
	}
	if len(all.List) == 0 {
		return nil
	}
	slices.SortStableFunc(all.List, func(a, b strictjson.FieldError) int { return lineOf(a.Path) - lineOf(b.Path) })
	if len(all.List) > strictjson.MaxErrors {
		all.Dropped += len(all.List) - strictjson.MaxErrors
		all.List = all.List[:strictjson.MaxErrors]
	}
	return &all
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
