package engine_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// qstashToken signs claims as QStash does: an HS256 JWT, the key used as raw bytes.
func qstashToken(key, alg, claims string) string {
	return qstashSigned(key, `{"alg":"`+alg+`","typ":"JWT"}`, claims)
}

// qstashSigned is qstashToken with the header as given (HMAC-SHA256 whatever it names).
func qstashSigned(key, header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(header)) + "." + enc([]byte(claims))
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(signing))
	return signing + "." + enc(m.Sum(nil))
}

// Upstash publishes the token's form (HS256; iss "Upstash"; sub the destination; body the
// base64url SHA-256 of the body; current and next signing keys) but no fixed token, so these
// are signed here.
func TestQStashPreset(t *testing.T) {
	const cur, next, other = "sig_current_signing_key_0001", "sig_next_signing_key_00002", "sig_other_signing_key_0003"
	const dest = "https://hooks.example.com/qstash"
	now := time.Unix(1_700_000_000, 0)
	body := `{"hello":"world"}`
	hash := func(b string) string {
		s := sha256.Sum256([]byte(b))
		return base64.URLEncoding.EncodeToString(s[:]) // padded, as QStash sends it
	}
	claims := func(iss, sub, b string, nbf, exp int64) string {
		return fmt.Sprintf(`{"iss":%q,"sub":%q,"exp":%d,"nbf":%d,"iat":%d,"jti":"jwt_1","body":%q}`, iss, sub, exp, nbf, nbf, hash(b))
	}
	ok := claims("Upstash", dest, body, now.Unix(), now.Unix()+300)
	h := func(tok string) [][2]string { return [][2]string{{"upstash-signature", tok}} }
	tests := []struct {
		name    string
		headers [][2]string
		body    string
		at      time.Time
		want    string
	}{
		{"current key", h(qstashToken(cur, "HS256", ok)), body, now, ""},
		{"next key", h(qstashToken(next, "HS256", ok)), body, now, ""},
		{"another key", h(qstashToken(other, "HS256", ok)), body, now, "signature_mismatch"},
		{"tampered body", h(qstashToken(cur, "HS256", ok)), body + " ", now, "signature_mismatch"},
		{"another destination", h(qstashToken(cur, "HS256", claims("Upstash", "https://evil.example.com/x", body, now.Unix(), now.Unix()+300))), body, now, "signature_mismatch"},
		{"another issuer", h(qstashToken(cur, "HS256", claims("Someone", dest, body, now.Unix(), now.Unix()+300))), body, now, "signature_malformed"},
		{"expired", h(qstashToken(cur, "HS256", ok)), body, now.Add(331 * time.Second), "timestamp_out_of_window"},
		{"expired within the skew", h(qstashToken(cur, "HS256", ok)), body, now.Add(330 * time.Second), ""},
		{"not yet valid", h(qstashToken(cur, "HS256", ok)), body, now.Add(-31 * time.Second), "timestamp_out_of_window"},
		{"alg none", h(qstashToken(cur, "none", ok)), body, now, "signature_malformed"},
		{"alg HS512 named", h(qstashToken(cur, "HS512", ok)), body, now, "signature_malformed"},
		{"not a JWT", h("abc.def"), body, now, "signature_malformed"},
		// What the engine's JWT rules refuse in any token (readJWS), validly signed here.
		{"alg hs256 in lower case", h(qstashToken(cur, "hs256", ok)), body, now, "signature_malformed"},
		{"jku in the header", h(qstashSigned(cur, `{"alg":"HS256","jku":"https://evil.example.com/k"}`, ok)), body, now, "signature_malformed"},
		{"crit in the header", h(qstashSigned(cur, `{"alg":"HS256","crit":["exp"]}`, ok)), body, now, "signature_malformed"},
		{"nested JWT", h(qstashSigned(cur, `{"alg":"HS256","cty":"JWT"}`, ok)), body, now, "signature_malformed"},
		{"duplicate header name", h(qstashSigned(cur, `{"alg":"HS256","alg":"HS256"}`, ok)), body, now, "signature_malformed"},
		{"duplicate claim", h(qstashToken(cur, "HS256", strings.Replace(ok, `"iss":"Upstash"`, `"iss":"Upstash","iss":"Upstash"`, 1))), body, now, "signature_malformed"},
		{"string exp", h(qstashToken(cur, "HS256", strings.Replace(ok, fmt.Sprintf(`"exp":%d`, now.Unix()+300), fmt.Sprintf(`"exp":"%d"`, now.Unix()+300), 1))), body, now, "signature_malformed"},
		{"body claim not a string", h(qstashToken(cur, "HS256", strings.Replace(ok, fmt.Sprintf(`"body":%q`, hash(body)), fmt.Sprintf(`"body":[%q]`, hash(body)), 1))), body, now, "signature_malformed"},
		{"padded signature", h(qstashToken(cur, "HS256", ok) + "="), body, now, "signature_malformed"},
		{"bad base64", h("a!b.c.d"), body, now, "signature_malformed"},
	}
	e := compile(t, hookPolicy("qstash", cur, next, `,"url":"`+dest+`"`))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := deliver(e, nil, tt.headers, tt.body, tt.at); d.Code != tt.want || d.Allow != (tt.want == "") {
				t.Fatalf("allow %v %q, want %q", d.Allow, d.Code, tt.want)
			}
		})
	}
}
