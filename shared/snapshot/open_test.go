package snapshot_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
	"github.com/portcullis/portcullis/shared/snapshot"
)

func testDelta(base, version uint64) *snapshot.Delta {
	return &snapshot.Delta{Base: base, Version: version, IssuedAt: issued, Changes: &policy.Changes{
		PutKeys:           []policy.Key{{ID: "new", SHA256: strings.Repeat("ab", 32), Active: true, Permissions: []string{"read"}}},
		RemoveKeys:        []policy.KeyRef{{ID: "old", SHA256: strings.Repeat("cd", 32)}},
		PutRevocations:    []policy.Revocation{{JTI: "t1", ExpiresAt: issued.Add(time.Hour)}},
		RemoveRevocations: []string{"t0"},
	}}
}

func TestDeltaRoundTrip(t *testing.T) {
	_, priv := testKey(t, 1)
	d := testDelta(4, 6)
	payload, err := snapshot.EncodeDelta(d)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"base":4,"version":6,"issued_at":"2030-05-06T07:08:09.00000001Z","changes":{"put_keys":[{"id":"new","sha256":"` +
		`abababababababababababababababababababababababababababababababab","active":true,"permissions":["read"]}],` +
		`"remove_keys":[{"id":"old","sha256":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"}],` +
		`"put_revocations":[{"jti":"t1","expires_at":"2030-05-06T08:08:09.00000001Z"}],"remove_revocations":["t0"]}}`
	if string(payload) != want {
		t.Fatalf("payload\n got %s\nwant %s", payload, want)
	}
	if err := snapshot.VerifyDelta(pubOf(priv), payload, snapshot.SignDelta(priv, payload)); err != nil {
		t.Fatal(err)
	}
	got, err := snapshot.DecodeDelta(payload)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := snapshot.EncodeDelta(got)
	if string(again) != want {
		t.Fatalf("re-encoded\n got %s\nwant %s", again, want)
	}
}

func TestDecodeDeltaRejects(t *testing.T) {
	for name, tc := range map[string]struct{ payload, want string }{
		"backwards":      {`{"base":5,"version":5,"issued_at":"2030-01-01T00:00:00Z","changes":{}}`, "version: must be above base (5)"},
		"no base":        {`{"version":5,"issued_at":"2030-01-01T00:00:00Z","changes":{}}`, "base: required"},
		"twice":          {`{"base":1,"version":2,"issued_at":"2030-01-01T00:00:00Z","changes":{"put_keys":[{"id":"a","sha256":"` + strings.Repeat("ab", 32) + `"}],"remove_keys":[{"id":"a","sha256":"` + strings.Repeat("ab", 32) + `"}]}}`, "is put or removed twice"},
		"bad hash":       {`{"base":1,"version":2,"issued_at":"2030-01-01T00:00:00Z","changes":{"remove_keys":[{"id":"a","sha256":"xyz"}]}}`, "changes.remove_keys[0].sha256: must be 64 hex digits"},
		"unknown change": {`{"base":1,"version":2,"issued_at":"2030-01-01T00:00:00Z","changes":{"routes":[]}}`, "changes.routes"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := snapshot.DecodeDelta([]byte(tc.payload))
			if !errors.Is(err, snapshot.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestOpen is the data-plane client's contract: what it accepts and what it refuses.
func TestOpen(t *testing.T) {
	pub, priv := testKey(t, 1)
	_, other := testKey(t, 2)
	now := issued.Add(time.Hour)
	const nonce = "n0nce-1"
	snap, err := snapshot.Encode(7, issued, testPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	delta, err := snapshot.EncodeDelta(testDelta(6, 7))
	if err != nil {
		t.Fatal(err)
	}
	// fresh is a "not modified" statement; answer is the statement of a 200 answer, which
	// names the answer's kind and body.
	fresh := func(v uint64, at time.Time) string { return snapshot.SignFreshness(priv, v, at, nonce) }
	answer := func(v uint64, kind string, body []byte) string {
		return snapshot.SignAnswerFreshness(priv, v, now, nonce, kind, body)
	}
	full := snapshot.Reply{Kind: snapshot.KindSnapshot, Body: snap, Signature: snapshot.Sign(priv, snap), Freshness: answer(7, snapshot.KindSnapshot, snap)}
	dl := snapshot.Reply{Kind: snapshot.KindDelta, Body: delta, Signature: snapshot.SignDelta(priv, delta), Freshness: answer(7, snapshot.KindDelta, delta)}
	with := func(r snapshot.Reply, edit func(*snapshot.Reply)) snapshot.Reply { edit(&r); return r }
	// Another delta from 6 to 7, validly signed on its own: what a forger would like to swap in.
	otherDelta := testDelta(6, 7)
	otherDelta.Changes.RemoveRevocations = []string{"t9"}
	other67, err := snapshot.EncodeDelta(otherDelta)
	if err != nil {
		t.Fatal(err)
	}
	// A statement in the previous format (no kind, no body digest, domain v1), as an older
	// control server writes it.
	v1Stmt := fmt.Sprintf("7;%d;%s", now.UnixMilli(), nonce)
	v1 := v1Stmt + ";" + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte("portcullis-freshness-v1\n"+v1Stmt)))
	if got := snapshot.SignFreshnessV1(priv, 7, now, nonce); got != v1 {
		t.Fatalf("SignFreshnessV1 = %q, want the previous format %q", got, v1)
	}
	v1WrongDomain := v1Stmt + ";" + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte("portcullis-freshness-v2\n"+v1Stmt)))

	for _, tc := range []struct {
		name string
		held uint64
		rep  snapshot.Reply
		want error // nil: accepted
		kind string
	}{
		{"full snapshot", 0, full, nil, "snapshot"},
		{"full snapshot, kind header absent", 3, with(full, func(r *snapshot.Reply) { r.Kind = "" }), nil, "snapshot"},
		{"delta at its base", 6, dl, nil, "delta"},
		// One Ed25519 check per answer: the statement names the body's digest, so the
		// payload's own signature is not needed to accept it.
		{"delta without its own signature", 6, with(dl, func(r *snapshot.Reply) { r.Signature = "" }), nil, "delta"},
		{"snapshot without its own signature", 0, with(full, func(r *snapshot.Reply) { r.Signature = "" }), nil, "snapshot"},
		{"not modified", 7, snapshot.Reply{NotModified: true, Freshness: fresh(7, now.Add(-time.Minute))}, nil, "current"},
		{"statement by a clock a day off (clocks do not matter)", 7, snapshot.Reply{NotModified: true, Freshness: fresh(7, now.Add(24*time.Hour))}, nil, "current"},

		{"snapshot replayed (answer to another poll)", 0, with(full, func(r *snapshot.Reply) {
			r.Freshness = snapshot.SignAnswerFreshness(priv, 7, now, "earlier-poll", snapshot.KindSnapshot, snap)
		}), snapshot.ErrNotThisPoll, ""},
		{"delta replayed (answer to another poll)", 6, with(dl, func(r *snapshot.Reply) {
			r.Freshness = snapshot.SignAnswerFreshness(priv, 7, now, "earlier-poll", snapshot.KindDelta, delta)
		}), snapshot.ErrNotThisPoll, ""},
		{"not-modified replayed", 7, snapshot.Reply{NotModified: true, Freshness: snapshot.SignFreshness(priv, 7, now, "earlier-poll")}, snapshot.ErrNotThisPoll, ""},
		{"statement without a nonce", 7, snapshot.Reply{NotModified: true, Freshness: snapshot.SignFreshness(priv, 7, now, "")}, snapshot.ErrNotThisPoll, ""},
		{"nonce edited", 7, snapshot.Reply{NotModified: true, Freshness: strings.Replace(fresh(7, now), nonce, "n0nce-2", 1)}, snapshot.ErrBadSignature, ""},
		{"nonce with a separator", 7, snapshot.Reply{NotModified: true, Freshness: "7;1;a;b;;c"}, snapshot.ErrMalformedFreshness, ""},
		{"no freshness", 0, with(full, func(r *snapshot.Reply) { r.Freshness = "" }), snapshot.ErrNoFreshness, ""},
		{"freshness of another key", 0, with(full, func(r *snapshot.Reply) {
			r.Freshness = snapshot.SignAnswerFreshness(other, 7, now, nonce, snapshot.KindSnapshot, snap)
		}), snapshot.ErrBadSignature, ""},
		{"freshness edited", 0, with(full, func(r *snapshot.Reply) { r.Freshness = "8" + r.Freshness[1:] }), snapshot.ErrBadSignature, ""},
		{"freshness padded", 0, with(full, func(r *snapshot.Reply) { r.Freshness = "07" + r.Freshness[1:] }), snapshot.ErrMalformedFreshness, ""},
		{"digest in upper case", 6, with(dl, func(r *snapshot.Reply) {
			f := strings.Split(r.Freshness, ";")
			f[4] = strings.ToUpper(f[4])
			r.Freshness = strings.Join(f, ";")
		}), snapshot.ErrMalformedFreshness, ""},
		{"freshness for another version", 0, with(full, func(r *snapshot.Reply) { r.Freshness = answer(8, snapshot.KindSnapshot, snap) }), snapshot.ErrVersionMismatch, ""},
		{"not modified for another version", 6, snapshot.Reply{NotModified: true, Freshness: fresh(7, now)}, snapshot.ErrVersionMismatch, ""},
		// The previous format (an older control server, or a filter that did not ask for
		// version 2): taken, with the payload's own signature vouching for the body.
		{"previous statement format, not modified", 7, snapshot.Reply{NotModified: true, Freshness: v1}, nil, "current"},
		{"previous statement format on a delta", 6, with(dl, func(r *snapshot.Reply) { r.Freshness = v1 }), nil, "delta"},
		{"previous statement format on a snapshot", 0, with(full, func(r *snapshot.Reply) { r.Freshness = v1 }), nil, "snapshot"},
		{"previous format, delta body altered", 6, with(dl, func(r *snapshot.Reply) {
			r.Freshness, r.Body = v1, []byte(strings.Replace(string(delta), `"t0"`, `"t8"`, 1))
		}), snapshot.ErrBadSignature, ""},
		{"previous format, delta without its own signature", 6, with(dl, func(r *snapshot.Reply) { r.Freshness, r.Signature = v1, "" }), snapshot.ErrNoSignature, ""},
		{"previous format, snapshot signed as a delta", 0, with(full, func(r *snapshot.Reply) {
			r.Freshness, r.Signature = v1, snapshot.SignDelta(priv, snap)
		}), snapshot.ErrBadSignature, ""},
		{"previous format replayed", 7, snapshot.Reply{NotModified: true, Freshness: snapshot.SignFreshnessV1(priv, 7, now, "earlier-poll")}, snapshot.ErrNotThisPoll, ""},
		{"previous format, version 2 domain", 7, snapshot.Reply{NotModified: true, Freshness: v1WrongDomain}, snapshot.ErrBadSignature, ""},

		// The statement binds the body: a valid statement vouches for no other body.
		{"delta body swapped for another validly signed delta", 6, with(dl, func(r *snapshot.Reply) {
			r.Body, r.Signature = other67, snapshot.SignDelta(priv, other67)
		}), snapshot.ErrNotThisAnswer, ""},
		{"delta body altered by one byte", 6, with(dl, func(r *snapshot.Reply) {
			r.Body = []byte(strings.Replace(string(delta), `"t0"`, `"t8"`, 1))
		}), snapshot.ErrNotThisAnswer, ""},
		{"delta forged (own signature by another key)", 6, with(dl, func(r *snapshot.Reply) {
			r.Body, r.Signature = other67, snapshot.SignDelta(other, other67)
		}), snapshot.ErrNotThisAnswer, ""},
		{"snapshot body altered", 0, with(full, func(r *snapshot.Reply) { r.Body = append(append([]byte(nil), snap...), ' ') }), snapshot.ErrNotThisAnswer, ""},
		{"a not-modified statement on a delta", 6, with(dl, func(r *snapshot.Reply) { r.Freshness = fresh(7, now) }), snapshot.ErrNotThisAnswer, ""},
		{"a delta's statement on a not-modified", 7, snapshot.Reply{NotModified: true, Freshness: dl.Freshness}, snapshot.ErrNotThisAnswer, ""},
		{"snapshot labelled delta", 0, with(full, func(r *snapshot.Reply) { r.Kind = snapshot.KindDelta }), snapshot.ErrNotThisAnswer, ""},
		{"delta labelled snapshot", 6, with(dl, func(r *snapshot.Reply) { r.Kind = snapshot.KindSnapshot }), snapshot.ErrNotThisAnswer, ""},
		{"delta signed as a snapshot", 6, with(dl, func(r *snapshot.Reply) {
			r.Kind, r.Freshness = snapshot.KindSnapshot, answer(7, snapshot.KindSnapshot, delta)
		}), snapshot.ErrMalformed, ""},

		{"snapshot not newer (duplicate)", 7, full, snapshot.ErrNotNewer, ""},
		{"snapshot older", 9, full, snapshot.ErrNotNewer, ""},
		{"delta applied twice", 7, dl, snapshot.ErrWrongBase, ""},
		{"delta out of order (base ahead)", 5, dl, snapshot.ErrWrongBase, ""},
		{"unknown kind", 0, with(full, func(r *snapshot.Reply) { r.Kind = "patch" }), snapshot.ErrUnknownKind, ""},
		{"unknown kind in the statement", 0, with(full, func(r *snapshot.Reply) { r.Kind, r.Freshness = "patch", answer(7, "patch", snap) }), snapshot.ErrMalformedFreshness, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := snapshot.Open(pub, tc.held, nonce, tc.rep)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			kind := "current"
			switch {
			case a.Snapshot != nil:
				kind = "snapshot"
			case a.Delta != nil:
				kind = "delta"
			}
			if kind != tc.kind || a.Fresh.Version != 7 {
				t.Fatalf("answer is %s of version %d, want %s of 7", kind, a.Fresh.Version, tc.kind)
			}
		})
	}
}

func pubOf(priv ed25519.PrivateKey) ed25519.PublicKey { return priv.Public().(ed25519.PublicKey) }
