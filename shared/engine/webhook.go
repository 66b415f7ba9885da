package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
)

// verifier is a compiled webhook signature verifier: the preset's scheme with the current and
// the next secret, so deliveries signed with either pass during a rotation.
type verifier struct {
	name      string
	scheme    *scheme
	secrets   [][]byte
	keys      []any  // public-key schemes: the parsed keys, current first
	url       string // URL-signing schemes: the URL the provider signs
	tolerance time.Duration
	// replay is nil unless the verifier has replay protection; then it is the store used
	// when the host supplies none (Request.Replay).
	replay ReplayStore
}

// scheme is one provider's signing scheme.
type scheme struct {
	// sigHeaders are the header names that carry the signature, the first present one used
	// (standard-webhooks also answers to svix-*).
	sigHeaders []string
	// headerOnly schemes are decided on the headers (a shared token); the others need the body.
	headerOnly bool
	// inBody schemes carry the signature inside the body (Mailgun): no header to require.
	inBody bool
	// parseKey, for public-key schemes, turns a configured key into a verification key.
	parseKey func(secret string) (any, error)
	// verify checks the signature over the whole body (nil for headerOnly schemes).
	verify func(v *verifier, d *delivery) Code
}

// delivery is one request under verification: the scheme's inputs, and what verifying it
// learned for replay protection.
type delivery struct {
	sig      string
	headers  [][2]string
	body     []byte
	path     string // the request's :path, for URL-signing schemes
	now      time.Time
	signedAt int64  // the signed timestamp (Unix seconds); 0 when the scheme signs none
	print    []byte // what identifies the signed content (replay.go)
}

func compileVerifier(w *policy.Webhook) (*verifier, error) {
	s := schemes[w.Preset]
	if s == nil {
		return nil, fmt.Errorf("webhook %q: preset %q is not supported", w.Name, w.Preset)
	}
	v := &verifier{name: w.Name, scheme: s, url: w.URL}
	tol := w.ToleranceSeconds
	if tol == 0 {
		tol = policy.WebhookPresets[w.Preset]
	}
	v.tolerance = time.Duration(tol) * time.Second
	if w.ReplayProtection {
		v.replay = NewMemoryReplayStore()
	}
	for _, sec := range []string{w.Secret, w.NextSecret} {
		if sec == "" {
			continue
		}
		if s.parseKey != nil {
			k, err := s.parseKey(sec)
			if err != nil {
				return nil, fmt.Errorf("webhook %q: a key is %w", w.Name, err)
			}
			v.keys = append(v.keys, k)
			continue
		}
		key := []byte(sec)
		if w.Preset == "standard-webhooks" {
			b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sec, "whsec_"))
			if err != nil {
				return nil, fmt.Errorf("webhook %q: a secret is not whsec_ base64", w.Name)
			}
			key = b
		}
		v.secrets = append(v.secrets, key)
	}
	return v, nil
}

// webhookCheck binds a verifier to a route. On the headers it refuses a delivery without a
// signature at once (no need to buffer its body); the signature itself is checked over the
// whole body by DecideBody, which the host calls at the end of the buffered body.
type webhookCheck struct{ slot *verifierSlot }

func (c webhookCheck) onHeaders(f *flow) Code {
	v := c.slot.v // the request keeps the verifier it found, should a delta replace it
	if v.scheme.inBody {
		f.body = v
		return ""
	}
	sig, n := v.signature(f.r.Headers)
	switch {
	case n == 0:
		return CodeSignatureMissing
	case n > 1:
		return CodeSignatureMalformed // one signature header; a list goes inside it
	case v.scheme.headerOnly:
		return v.verifyToken(sig)
	}
	f.body = v
	return ""
}

// signature returns the first present signature header's value and how often it appears.
func (v *verifier) signature(headers [][2]string) (string, int) {
	for _, name := range v.scheme.sigHeaders {
		val, n := "", 0
		for _, h := range headers {
			if equalFold(h[0], name) {
				val, n = h[1], n+1
			}
		}
		if n > 0 {
			return val, n
		}
	}
	return "", 0
}

// verifyToken compares a shared token in constant time with every secret.
func (v *verifier) verifyToken(tok string) Code {
	ok := 0
	for _, s := range v.secrets {
		ok |= subtle.ConstantTimeCompare([]byte(tok), s)
	}
	if ok != 1 {
		return CodeSignatureMismatch
	}
	return ""
}

// DecideBody finishes a decision whose route verifies the request body (d.BufferBody): the
// host calls it once, at the end of the stream, with every byte received, before any of the
// body reaches the upstream. It returns d unchanged when the signature holds, else the denial.
func (e *Engine) DecideBody(d *Decision, r *Request, body []byte) Decision {
	v := d.body
	if !d.BufferBody || v == nil {
		return *d
	}
	sig, n := v.signature(r.Headers)
	code := Code("")
	switch {
	case n != 1 && !v.scheme.inBody:
		code = CodeSignatureMissing
	default:
		dl := delivery{sig: sig, headers: r.Headers, body: body, path: r.Path, now: r.Now}
		if code = v.scheme.verify(v, &dl); code == "" && v.replay != nil {
			code = v.remember(&dl, r.Replay)
		}
	}
	if code == "" {
		return *d
	}
	deny := Deny(code)
	deny.Route = d.Route
	if len(d.denyEdits) > 0 {
		deny.Headers = ApplyResponseEdits(deny.Headers, d.denyEdits)
	}
	return deny
}

// macMatches reports whether any secret's HMAC over the parts equals one of the candidate
// signatures, each compared in constant time (hmac.Equal).
//
// The current secret's HMAC is kept as the delivery's replay fingerprint input: it is computed
// anyway, and it is the same whichever secret the provider signed with.
func (v *verifier) macMatches(d *delivery, newHash func() hash.Hash, candidates [][]byte, parts ...[]byte) bool {
	ok := false
	for i, s := range v.secrets {
		m := hmac.New(newHash, s)
		for _, p := range parts {
			m.Write(p)
		}
		sum := m.Sum(nil)
		if i == 0 {
			d.print = sum
		}
		for _, c := range candidates {
			if hmac.Equal(sum, c) {
				ok = true
			}
		}
	}
	return ok
}

// checkTimestamp reads a Unix-seconds timestamp and checks it is within the tolerance of now,
// in both directions.
func (v *verifier) checkTimestamp(d *delivery, ts string) Code {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || !allDigits(ts) {
		return CodeSignatureMalformed
	}
	return v.checkUnix(d, sec)
}

// checkUnix checks a signed Unix-seconds timestamp against the tolerance, both ways, and
// keeps it for replay protection.
func (v *verifier) checkUnix(d *delivery, sec int64) Code {
	age := d.now.Sub(time.Unix(sec, 0))
	if age > v.tolerance || age < -v.tolerance {
		return CodeTimestampOutOfWindow
	}
	d.signedAt = sec
	return ""
}

// headerValue returns the single value of a header, or ok false when absent or repeated.
func headerValue(headers [][2]string, name string) (string, bool) {
	val, n := "", 0
	for _, h := range headers {
		if equalFold(h[0], name) {
			val, n = h[1], n+1
		}
	}
	return val, n == 1
}

// The hash constructor every HMAC scheme here uses.
var sha256New = sha256.New

// remember records a verified delivery for replay protection. The window ends when the signed
// timestamp leaves the tolerance (the timestamp check refuses it from then on), or, for a
// scheme that signs no timestamp, a tolerance after it was first seen.
func (v *verifier) remember(d *delivery, store ReplayStore) Code {
	if store == nil {
		store = v.replay
	}
	if len(d.print) == 0 {
		return CodeInternalError // a scheme that verified without a fingerprint: a bug, fail closed
	}
	now := d.now.Unix()
	start := now
	if d.signedAt != 0 {
		start = d.signedAt
	}
	expires := start + int64(v.tolerance/time.Second) + 1
	switch store.Remember(fingerprint(v.name, d.print), now, expires) {
	case ReplayFresh:
		return ""
	case ReplaySeen:
		return CodeReplayed
	}
	return CodeReplayUnrecorded
}
