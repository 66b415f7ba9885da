package publish

import "github.com/portcullis/portcullis/shared/snapshot"

// AnswerFreshness signs the statement of a poll answer with a body: version is current as of
// now, for the poll that sent nonce, and the answer's body is a payload of kind whose SHA-256
// is digest (snapshot.FreshnessHeader). The filter then checks this one signature per answer
// and compares the digest, instead of also checking the payload's own signature.
func (p *Publisher) AnswerFreshness(version uint64, nonce, kind string, digest [32]byte) string {
	f := snapshot.Freshness{Version: version, At: p.opts.Clock.Now(), Nonce: nonce, Kind: kind, Digest: digest}
	return f.Sign(p.priv)
}

// FreshnessV1 signs a statement in the previous format (version;unix_ms;nonce), for a client
// that did not ask for version 2 (snapshot.FreshnessParam): a filter older than this server.
func (p *Publisher) FreshnessV1(version uint64, nonce string) string {
	return snapshot.SignFreshnessV1(p.priv, version, p.opts.Clock.Now(), nonce)
}
