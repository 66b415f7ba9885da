// Package verifier joins the stored webhook verifiers to the policy document: it opens their
// sealed secrets and writes them into the document's webhooks section, the one form the policy
// parser validates and the snapshot carries. The admin API (validation) and the publisher
// (the signed snapshot) both go through it, so what is checked is what is published.
package verifier

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/portcullis/portcullis/control/seal"
	"github.com/portcullis/portcullis/control/store"
)

// Doc is a verifier as the policy document's webhooks section writes it, secrets in clear.
type Doc struct {
	Name             string `json:"name"`
	Preset           string `json:"preset"`
	Secret           string `json:"secret"`
	NextSecret       string `json:"next_secret,omitempty"`
	ToleranceSeconds int    `json:"tolerance_seconds,omitempty"`
	URL              string `json:"url,omitempty"`
	// ReplayProtection is written only when asked for, so a filter version without it refuses
	// the verifier rather than silently verify without it.
	ReplayProtection bool `json:"replay_protection,omitempty"`
}

// AD is the additional data a secret is sealed with: the verifier and the field, so a sealed
// value copied into another row or column does not open there.
func AD(name, field string) string { return "webhook/" + name + "/" + field }

// Open returns the verifier with its secrets opened.
func Open(s *seal.Sealer, w store.Webhook) (Doc, error) {
	d := Doc{Name: w.Name, Preset: w.Preset, ToleranceSeconds: w.ToleranceSeconds, URL: w.URL, ReplayProtection: w.ReplayProtection}
	secret, err := s.Open(w.Secret, AD(w.Name, "secret"))
	if err != nil {
		return Doc{}, fmt.Errorf("webhook %q: secret: %w", w.Name, err)
	}
	d.Secret = string(secret)
	if w.NextSecret != nil {
		next, err := s.Open(w.NextSecret, AD(w.Name, "next_secret"))
		if err != nil {
			return Doc{}, fmt.Errorf("webhook %q: next_secret: %w", w.Name, err)
		}
		d.NextSecret = string(next)
	}
	return d, nil
}

// OpenAll opens every verifier.
func OpenAll(s *seal.Sealer, hooks []store.Webhook) ([]Doc, error) {
	out := make([]Doc, len(hooks))
	for i, w := range hooks {
		d, err := Open(s, w)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// Merge returns the policy document with hooks appended as its webhooks section; every other
// byte stays as it was, so the strict parser still sees the document as written (duplicate
// keys included). A document that is not a JSON object is returned unchanged, for the parser
// to report.
func Merge(policyJSON []byte, hooks []Doc) ([]byte, error) {
	doc := bytes.TrimSpace(policyJSON)
	if len(hooks) == 0 || len(doc) < 2 || doc[0] != '{' || doc[len(doc)-1] != '}' {
		return policyJSON, nil
	}
	section, err := json.Marshal(hooks)
	if err != nil {
		return nil, err
	}
	body := bytes.TrimSpace(doc[1 : len(doc)-1])
	out := make([]byte, 0, len(doc)+len(section)+16)
	out = append(out, '{')
	if len(body) > 0 {
		out = append(append(out, body...), ',')
	}
	out = append(append(append(out, `"webhooks":`...), section...), '}')
	return out, nil
}

// HasSection reports whether a policy document (a JSON object) sets a webhooks section.
func HasSection(policyJSON []byte) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(policyJSON, &fields) != nil {
		return false
	}
	_, ok := fields["webhooks"]
	return ok
}
