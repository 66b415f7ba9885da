package plugin

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
)

// The filter logs through the host (Envoy's log or the gateway's), which adds time and level.
// Its denial lines are "portcullis: deny" followed by key=value pairs, so a person reads them
// as they are and a log pipeline (or the gateway's -log-format json) splits them into fields.

// maxRequestIDLen bounds the client-supplied x-request-id copied into a log line.
const maxRequestIDLen = 128

// denialLine is the one log line of a denial. It names the key by id (never the credential)
// and the path without its query, which may carry tokens. Concatenation, not fmt: this runs on
// every denial inside the VM, where fmt is slow.
func denialLine(status int, code, route, keyID, requestID, method, path string) string {
	if requestID == "" {
		requestID = newRequestID()
	} else if len(requestID) > maxRequestIDLen {
		requestID = requestID[:maxRequestIDLen]
	}
	return "portcullis: deny status=" + strconv.Itoa(status) +
		" code=" + logValue(code) +
		" route=" + logValue(route) +
		" key_id=" + logValue(keyID) +
		" request_id=" + logValue(requestID) +
		" method=" + logValue(method) +
		" path=" + logValue(pathOnly(path))
}

// logValue quotes a value that would not survive as one bare key=value token (empty, spaces,
// quotes, '=', control or non-ASCII bytes): request data must not forge fields or lines.
func logValue(v string) string {
	if v == "" {
		return `""`
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f {
			return strconv.Quote(v)
		}
	}
	return v
}

// requestIDPrefix makes generated request ids unique across VMs and restarts; the counter
// makes them unique within the VM. Envoy sets x-request-id on every request it accepts, so
// generated ids appear only behind hosts that do not (or a request Envoy was told to trust).
var (
	requestIDPrefix = func() string {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "vm"
		}
		return hex.EncodeToString(b[:])
	}()
	requestIDSeq uint64
)

func newRequestID() string {
	requestIDSeq++ // a VM is single-threaded
	return "pc-" + requestIDPrefix + "-" + strconv.FormatUint(requestIDSeq, 10)
}
