package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/shared/strictjson"
)

// Limits of POST /v1/keys:import. A line of a million-key file is about 200 bytes, so 512 MiB
// leaves room for long path and permission lists; one line may hold at most 64 KiB (a key's
// lists are bounded by admin.MaxListEntries anyway).
const (
	MaxImportBytes     = 512 << 20
	maxImportLineBytes = 64 << 10
	// importDeadline replaces the server's read and write timeouts for an import, which
	// streams its body into the database as it arrives.
	importDeadline = 5 * time.Minute
)

type importResult struct {
	Imported        int    `json:"imported"`
	SnapshotVersion uint64 `json:"snapshot_version"`
}

// importKeys takes JSON Lines of pre-hashed keys, streamed: the body is never held whole.
func (s *server) importKeys(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(importDeadline)
	// Best effort: a server without deadlines (tests' httptest) has none to extend.
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline)
	body := http.MaxBytesReader(w, r.Body, MaxImportBytes)
	who, _ := auth.FromContext(r.Context())
	res, err := s.cfg.Admin.ImportKeys(r.Context(), who, importLines(body))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setVersion(w, res.Version)
	writeJSON(w, http.StatusOK, importResult{Imported: res.Imported, SnapshotVersion: res.Version})
}

// importLines yields the lines of body decoded, skipping blank ones; a read error ends it.
func importLines(body io.Reader) iter.Seq2[admin.ImportLine, error] {
	return func(yield func(admin.ImportLine, error) bool) {
		br := bufio.NewReaderSize(body, maxImportLineBytes)
		for n := 1; ; n++ {
			line, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of the line
					_, err = br.ReadSlice('\n')
				}
				if err != nil && !errors.Is(err, io.EOF) {
					yield(admin.ImportLine{}, err)
					return
				}
				if !yield(admin.ImportLine{N: n, Err: fmt.Errorf("longer than %d bytes", maxImportLineBytes)}, nil) || err != nil {
					return
				}
				continue
			}
			if err != nil && !errors.Is(err, io.EOF) {
				yield(admin.ImportLine{}, err)
				return
			}
			if len(bytes.TrimSpace(line)) > 0 {
				k, lerr := decodeImportLine(line)
				if !yield(admin.ImportLine{N: n, Key: k, Err: lerr}, nil) {
					return
				}
			}
			if err != nil { // io.EOF
				return
			}
		}
	}
}

// decodeImportLine reads one key: {"id"?, "sha256", and the fields of POST /v1/keys}.
func decodeImportLine(line []byte) (admin.ImportKey, error) {
	var in admin.ImportKey
	err := decodeKeyObject(line, &in.NewKey, func(r *strictjson.Reader, k string) bool {
		switch k {
		case "id":
			in.ID = r.String("", k)
		case "sha256":
			in.SHA256 = r.String("", k)
		default:
			return false
		}
		return true
	})
	return in, err
}
