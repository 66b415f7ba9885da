package engine

import "github.com/portcullis/portcullis/shared/strictjson"

// mailgun: the signature travels inside the JSON body, not in a header:
// {"signature": {"timestamp": "…", "token": "…", "signature": "<hex>"}, "event-data": {…}},
// the hex HMAC-SHA256 (keyed with the webhook signing key) of timestamp + token.
//
// Mailgun signs only the timestamp and the token, not the event data: a captured delivery's
// signature block stays valid on any body within the window. Replay protection closes that —
// it remembers the signed timestamp and token, so the block is accepted once.
var mailgunScheme = &scheme{
	inBody: true,
	verify: func(v *verifier, d *delivery) Code {
		ts, token, sig, code := mailgunSignature(d.body)
		if code != "" {
			return code
		}
		if c := v.checkTimestamp(d, ts); c != "" {
			return c
		}
		mac, ok := decodeHex(sig)
		if !ok {
			return CodeSignatureMalformed
		}
		return matchOrMismatch(v.macMatches(d, sha256New, [][]byte{mac}, []byte(ts), []byte(token)))
	},
}

// mailgunSignature reads the signature block. The reader refuses repeated keys, so a body
// cannot carry a second block for a lenient parser further on to see.
func mailgunSignature(body []byte) (ts, token, sig string, code Code) {
	r := strictjson.NewReader(body)
	found := false
	for k := range r.Object("") {
		if k != "signature" {
			r.Skip()
			continue
		}
		found = true
		for f := range r.Object("signature") {
			switch f {
			case "timestamp":
				ts = r.String("signature", f)
			case "token":
				token = r.String("signature", f)
			case "signature":
				sig = r.String("signature", f)
			default:
				r.Skip()
			}
		}
	}
	switch {
	case r.Finish() != nil:
		return "", "", "", CodeSignatureMalformed
	case !found || ts == "" || token == "" || sig == "":
		return "", "", "", CodeSignatureMissing
	}
	return ts, token, sig, ""
}
