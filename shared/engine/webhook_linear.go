package engine

import (
	"github.com/portcullis/portcullis/shared/strictjson"
)

// linear: Linear-Signature, hex HMAC-SHA256 of the body. Linear signs no header timestamp; its
// payload carries webhookTimestamp (Unix milliseconds), which the signature covers, so the
// window is checked on it once the signature holds (an unverified body is never parsed).
var linearScheme = &scheme{
	sigHeaders: []string{"linear-signature"},
	verify: func(v *verifier, d *delivery) Code {
		mac, ok := decodeHex(trimSpace(d.sig))
		if !ok {
			return CodeSignatureMalformed
		}
		if !v.macMatches(d, sha256New, [][]byte{mac}, d.body) {
			return CodeSignatureMismatch
		}
		ms, ok := linearTimestamp(d.body)
		if !ok {
			return CodeSignatureMalformed
		}
		return v.checkUnix(d, ms/1000)
	},
}

// linearTimestamp reads the top-level webhookTimestamp of a Linear payload. The reader copies
// the body once; it runs only on verified deliveries.
func linearTimestamp(body []byte) (int64, bool) {
	r := strictjson.NewReader(body)
	var ms int64
	found := false
	for k := range r.Object("") {
		if k == "webhookTimestamp" {
			ms, found = r.Int("", k)
		} else {
			r.Skip()
		}
	}
	if r.Finish() != nil || !found || ms <= 0 {
		return 0, false
	}
	return ms, true
}
