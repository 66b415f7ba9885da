package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/portcullis/portcullis/shared/keytable"
	"github.com/portcullis/portcullis/shared/policy"
)

// ErrInvalidInput is returned by Encode for arguments that cannot form a snapshot.
var ErrInvalidInput = errors.New("invalid snapshot input")

// Encode writes the canonical payload of a snapshot: fields in a fixed order, no insignificant
// white space, every limit written out, times in UTC, routes in the order given, and the keys
// (if any) as a binary key table after the JSON (see the package documentation). The
// same arguments always produce the same bytes, so replicas that build the same version produce
// byte-identical payloads (and, Ed25519 being deterministic, identical signatures).
//
// Encode validates the keys (policy.ValidateKeys, which also lower-cases their hashes in doc),
// not the rest of the policy; the control server decodes the payload with Decode before
// signing it, which runs exactly the checks the filter will run.
func Encode(version uint64, issuedAt time.Time, doc *policy.Document) ([]byte, error) {
	switch {
	case version == 0:
		return nil, fmt.Errorf("%w: version must be positive", ErrInvalidInput)
	case doc == nil:
		return nil, fmt.Errorf("%w: no policy document", ErrInvalidInput)
	case doc.Version != 0 && doc.Version != policy.Version:
		return nil, fmt.Errorf("%w: policy version %d (want %d)", ErrInvalidInput, doc.Version, policy.Version)
	case issuedAt.IsZero():
		return nil, fmt.Errorf("%w: issued_at is zero", ErrInvalidInput)
	}
	e := encoder{buf: make([]byte, 0, 512+len(doc.Routes)*256)}
	e.raw(`{"version":`)
	e.buf = strconv.AppendUint(e.buf, version, 10)
	e.raw(`,"issued_at":`)
	e.time(issuedAt)
	e.raw(`,"policy":`)
	e.document(doc)
	e.raw(`}`)
	if e.err != nil {
		return nil, e.err
	}
	if len(doc.Keys) == 0 {
		return e.buf, nil
	}
	// A binary table cannot hold every invalid key (a permission with a comma would split in
	// two), so the keys are validated here, with the errors Decode would give for them.
	if err := policy.ValidateKeys(doc, "policy"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	table, err := keytable.Encode(doc.Keys)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	return append(append(e.buf, '\n'), table...), nil
}

type encoder struct {
	buf []byte
	err error
}

func (e *encoder) raw(s string) { e.buf = append(e.buf, s...) }

func (e *encoder) document(d *policy.Document) {
	e.raw(`{"version":`)
	e.buf = strconv.AppendInt(e.buf, policy.Version, 10)
	e.raw(`,"default_action":`)
	e.str(string(d.DefaultAction))
	e.raw(`,"default_limits":`)
	e.limits(&d.DefaultLimits)
	if d.TrustedProxyHops > 0 {
		e.raw(`,"trusted_proxy_hops":`)
		e.buf = strconv.AppendInt(e.buf, int64(d.TrustedProxyHops), 10)
	}
	e.optStrs("ip_allow", d.IPAllow)
	e.optStrs("ip_deny", d.IPDeny)
	if d.RateLimitIPv6Prefix > 0 {
		e.raw(`,"rate_limit_ipv6_prefix":`)
		e.buf = strconv.AppendInt(e.buf, int64(d.RateLimitIPv6Prefix), 10)
	}
	if len(d.Routes) > 0 {
		e.raw(`,"routes":[`)
		for i := range d.Routes {
			if i > 0 {
				e.raw(`,`)
			}
			e.route(&d.Routes[i])
		}
		e.raw(`]`)
	}
	if len(d.Webhooks) > 0 {
		e.raw(`,"webhooks":[`)
		for i := range d.Webhooks {
			if i > 0 {
				e.raw(`,`)
			}
			e.webhook(&d.Webhooks[i])
		}
		e.raw(`]`)
	}
	// Keys travel in the binary key table after the JSON (Encode).
	if len(d.RateLimitTiers) > 0 {
		e.section("rate_limit_tiers", d.RateLimitTiers)
	}
	if len(d.JWTProviders) > 0 {
		e.section("jwt_providers", d.JWTProviders)
	}
	if len(d.RevokedTokens) > 0 {
		e.raw(`,"revoked_tokens":[`)
		e.revocations(d.RevokedTokens)
		e.raw(`]`)
	}
	e.raw(`}`)
}

// revocations writes the elements of a revocation list (without the brackets).
func (e *encoder) revocations(list []policy.Revocation) {
	for i, v := range list {
		if i > 0 {
			e.raw(`,`)
		}
		e.raw(`{"jti":`)
		e.str(v.JTI)
		e.raw(`,"expires_at":`)
		e.time(v.ExpiresAt)
		e.raw(`}`)
	}
}

func (e *encoder) route(r *policy.Route) {
	e.raw(`{"name":`)
	e.str(r.Name)
	e.raw(`,"match":{`)
	if len(r.Match.Hosts) > 0 {
		e.raw(`"hosts":`)
		e.strs(r.Match.Hosts)
		e.raw(`,`)
	}
	e.raw(`"path_prefix":`)
	e.str(r.Match.PathPrefix)
	if len(r.Match.Methods) > 0 {
		e.raw(`,"methods":`)
		e.strs(r.Match.Methods)
	}
	e.raw(`},"auth":{"type":`)
	e.str(string(r.Auth.Type))
	if r.Auth.Webhook != "" {
		e.raw(`,"webhook":`)
		e.str(r.Auth.Webhook)
	}
	if r.Auth.Provider != "" {
		e.raw(`,"provider":`)
		e.str(r.Auth.Provider)
	}
	e.raw(`}`)
	if r.HideCredentials {
		e.raw(`,"hide_credentials":true`)
	}
	e.raw(`,"limits":`)
	e.limits(&r.Limits)
	if r.Permissions != nil {
		e.section("permissions", r.Permissions)
	}
	if r.Admin {
		e.raw(`,"admin":true`)
	}
	if r.Staff {
		e.raw(`,"staff":true`)
	}
	e.optStrs("ip_allow", r.IPAllow)
	e.optStrs("ip_deny", r.IPDeny)
	if r.CORS != nil {
		e.section("cors", r.CORS)
	}
	if r.SecurityHeaders != nil {
		e.section("security_headers", r.SecurityHeaders)
	}
	if len(r.RateLimits) > 0 {
		e.section("rate_limits", r.RateLimits)
	}
	if len(r.MaxConcurrent) > 0 {
		e.section("max_concurrent", r.MaxConcurrent)
	}
	e.raw(`}`)
}

// section writes a small nested section with encoding/json: these are a few per route, built
// by the control server only, and encoding/json's output is deterministic for structs.
func (e *encoder) section(name string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		if e.err == nil {
			e.err = fmt.Errorf("%w: %s: %v", ErrInvalidInput, name, err)
		}
		return
	}
	e.raw(`,"` + name + `":`)
	e.buf = append(e.buf, data...)
}

func (e *encoder) optStrs(name string, list []string) {
	if len(list) > 0 {
		e.raw(`,"` + name + `":`)
		e.strs(list)
	}
}

func (e *encoder) webhook(w *policy.Webhook) {
	e.raw(`{"name":`)
	e.str(w.Name)
	e.raw(`,"preset":`)
	e.str(w.Preset)
	e.raw(`,"secret":`)
	e.str(w.Secret)
	if w.NextSecret != "" {
		e.raw(`,"next_secret":`)
		e.str(w.NextSecret)
	}
	if w.ToleranceSeconds > 0 {
		e.raw(`,"tolerance_seconds":`)
		e.buf = strconv.AppendInt(e.buf, int64(w.ToleranceSeconds), 10)
	}
	if w.URL != "" {
		e.raw(`,"url":`)
		e.str(w.URL)
	}
	if w.ReplayProtection {
		e.raw(`,"replay_protection":true`)
	}
	e.raw(`}`)
}

func (e *encoder) limits(l *policy.Limits) {
	e.raw(`{"max_header_count":`)
	e.buf = strconv.AppendInt(e.buf, int64(l.MaxHeaderCount), 10)
	e.raw(`,"max_header_bytes":`)
	e.buf = strconv.AppendInt(e.buf, int64(l.MaxHeaderBytes), 10)
	e.raw(`,"max_header_value_bytes":`)
	e.buf = strconv.AppendInt(e.buf, int64(l.MaxHeaderValueBytes), 10)
	e.raw(`,"max_body_bytes":`)
	e.buf = strconv.AppendInt(e.buf, l.MaxBodyBytes, 10)
	e.raw(`}`)
}

func (e *encoder) time(t time.Time) {
	e.buf = append(e.buf, '"')
	e.buf = t.UTC().AppendFormat(e.buf, time.RFC3339Nano)
	e.buf = append(e.buf, '"')
}

func (e *encoder) strs(list []string) {
	e.buf = append(e.buf, '[')
	for i, s := range list {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.str(s)
	}
	e.buf = append(e.buf, ']')
}

const hexDigits = "0123456789abcdef"

// str writes a JSON string. Only '"', '\\' and control characters are escaped, so the output is
// the shortest valid form; invalid UTF-8 is an error because the decoder rejects it.
func (e *encoder) str(s string) {
	if !utf8.ValidString(s) {
		if e.err == nil {
			e.err = fmt.Errorf("%w: string %q is not valid UTF-8", ErrInvalidInput, s)
		}
		return
	}
	e.buf = append(e.buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		e.buf = append(e.buf, s[start:i]...)
		switch c {
		case '"', '\\':
			e.buf = append(e.buf, '\\', c)
		case '\n':
			e.buf = append(e.buf, '\\', 'n')
		case '\r':
			e.buf = append(e.buf, '\\', 'r')
		case '\t':
			e.buf = append(e.buf, '\\', 't')
		default:
			e.buf = append(e.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	e.buf = append(e.buf, s[start:]...)
	e.buf = append(e.buf, '"')
}
