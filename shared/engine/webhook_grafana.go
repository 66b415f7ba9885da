package engine

// grafana: Grafana Alerting's webhook contact point with an HMAC config. The signature header
// (X-Grafana-Alerting-Signature) is the hex HMAC-SHA256 of the body, or of timestamp + ":" +
// body when the contact point also sends a timestamp header, which this preset reads as
// X-Grafana-Alerting-Timestamp. Grafana sends none by default, so neither does the preset
// require one, unless the verifier sets tolerance_seconds: then it must be present and within
// the window.
var grafanaScheme = &scheme{
	sigHeaders: []string{"x-grafana-alerting-signature"},
	verify: func(v *verifier, d *delivery) Code {
		mac, ok := decodeHex(trimSpace(d.sig))
		if !ok {
			return CodeSignatureMalformed
		}
		ts, ok := headerValue(d.headers, "x-grafana-alerting-timestamp")
		switch {
		case !ok && v.tolerance > 0:
			return CodeSignatureMissing
		case !ok:
			return matchOrMismatch(v.macMatches(d, sha256New, [][]byte{mac}, d.body))
		}
		if c := v.checkTimestamp(d, ts); c != "" && v.tolerance > 0 {
			return c
		}
		return matchOrMismatch(v.macMatches(d, sha256New, [][]byte{mac}, []byte(ts+":"), d.body))
	},
}
