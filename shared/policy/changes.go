package policy

import "github.com/portcullis/portcullis/shared/strictjson"

// Changes is what a delta snapshot changes in the policy it applies to: keys put (created or
// replaced, named by id) and removed, JWT revocations added and removed, webhook verifiers put
// (created or replaced, named by name: a secret rotated) and removed. Everything else in a
// policy travels only in full snapshots.
//
// # Notes
//
// A removed key names its hash as well as its id, so the filter can find it in a table keyed
// by hash without keeping a second index by id.
type Changes struct {
	PutKeys           []Key
	RemoveKeys        []KeyRef
	PutRevocations    []Revocation
	RemoveRevocations []string // jti
	PutWebhooks       []Webhook
	RemoveWebhooks    []string // name
}

// KeyRef names a key that a delta removes.
type KeyRef struct {
	ID     string
	SHA256 string
}

// Empty reports whether c changes nothing.
func (c *Changes) Empty() bool {
	return c.Len() == 0
}

// Len is the number of items c puts and removes.
func (c *Changes) Len() int {
	return len(c.PutKeys) + len(c.RemoveKeys) + len(c.PutRevocations) + len(c.RemoveRevocations) +
		len(c.PutWebhooks) + len(c.RemoveWebhooks)
}

// ReadChanges decodes the changes object at path from r and validates it as a policy's keys,
// revocations and webhooks are validated, plus: no id, jti or webhook name appears twice across
// puts and removals.
// Errors stay in r. Key tiers are checked by whoever applies the changes (they refer to the
// policy the changes apply to).
func ReadChanges(r *strictjson.Reader, path string) *Changes {
	c := &Changes{}
	for k := range r.Object(path) {
		switch k {
		case "put_keys":
			readList(r, path, k, MaxKeys, "keys", &c.PutKeys, readKey)
		case "remove_keys":
			readList(r, path, k, MaxKeys, "keys", &c.RemoveKeys, readKeyRef)
		case "put_revocations":
			readList(r, path, k, MaxRevokedTokens, "revocations", &c.PutRevocations, readRevocation)
		case "remove_revocations":
			c.RemoveRevocations = r.Strings(path, k)
		case "put_webhooks":
			readList(r, path, k, MaxWebhooks, "webhooks", &c.PutWebhooks, readWebhook)
		case "remove_webhooks":
			c.RemoveWebhooks = r.Strings(path, k)
		default:
			r.Unknown(path, k)
		}
	}
	if !r.Stopped() {
		r.Check(func(d *strictjson.Decoder) { checkChanges(d, c, path) })
	}
	return c
}

func readKeyRef(r *strictjson.Reader, path string, k *KeyRef) {
	for f := range r.Object(path) {
		switch f {
		case "id":
			k.ID = r.String(path, f)
		case "sha256":
			k.SHA256 = r.String(path, f)
		default:
			r.Unknown(path, f)
		}
	}
}

func checkChanges(d *strictjson.Decoder, c *Changes, path string) {
	puts := strictjson.Join(path, "put_keys")
	checkKeys(d, c.PutKeys, puts)
	ids := make(map[string]bool, len(c.PutKeys)+len(c.RemoveKeys))
	for _, k := range c.PutKeys {
		ids[k.ID] = true
	}
	removes := strictjson.Join(path, "remove_keys")
	for i := range c.RemoveKeys {
		k := &c.RemoveKeys[i]
		kp := strictjson.Index(removes, i)
		if !isIdentifier(k.ID, 128) {
			d.FieldErrorf(kp, "id", "must be a key id")
		} else if ids[k.ID] {
			d.FieldErrorf(kp, "id", "is put or removed twice in one delta (%q)", k.ID)
		}
		ids[k.ID] = true
		if !normalizeHex(&k.SHA256, 64) {
			d.FieldErrorf(kp, "sha256", "must be 64 hex digits")
		}
	}
	checkRevocations(d, c.PutRevocations, strictjson.Join(path, "put_revocations"))
	jtis := make(map[string]bool, len(c.PutRevocations)+len(c.RemoveRevocations))
	for _, v := range c.PutRevocations {
		jtis[v.JTI] = true
	}
	rp := strictjson.Join(path, "remove_revocations")
	for i, j := range c.RemoveRevocations {
		if j == "" || jtis[j] {
			d.Errorf(strictjson.Index(rp, i), "must be a jti not put or removed elsewhere in the delta")
		}
		jtis[j] = true
	}
	checkWebhooks(d, c.PutWebhooks, strictjson.Join(path, "put_webhooks"))
	names := make(map[string]bool, len(c.PutWebhooks)+len(c.RemoveWebhooks))
	for _, w := range c.PutWebhooks {
		names[w.Name] = true
	}
	wp := strictjson.Join(path, "remove_webhooks")
	for i, name := range c.RemoveWebhooks {
		if !isIdentifier(name, 64) || names[name] {
			d.Errorf(strictjson.Index(wp, i), "must be a webhook name not put or removed elsewhere in the delta")
		}
		names[name] = true
	}
}
