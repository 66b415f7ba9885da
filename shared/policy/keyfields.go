package policy

import "github.com/portcullis/portcullis/shared/strictjson"

// The rules for a key's fields, exported for shared/keytable, which checks the binary key
// records of a snapshot without building Key values. They are the rules checkKeys applies to a
// JSON document, so both encodings accept exactly the same keys.

// ValidKeyID reports whether s is a valid Key.ID.
func ValidKeyID(s string) bool { return isIdentifier(s, 128) }

// ValidKeyName reports whether s is a valid Key.Name (it travels to the upstream in a header).
func ValidKeyName(s string) bool { return len(s) <= 200 && !hasControl(s) }

// ValidPermission reports whether s is a valid entry of Key.Permissions. A permission never
// contains a comma or a space, so a list of them joins unambiguously with either.
func ValidPermission(s string) bool { return isPermission(s) }

// PathPrefixProblem describes what is wrong with a path prefix (Key.AllowedPaths,
// Match.PathPrefix), or returns "". A valid prefix never contains a space.
func PathPrefixProblem(p string) string { return pathPrefixProblem(p) }

// ValidateKeys checks doc.Keys as Parse does (ids, names, hashes, paths, permissions, and that
// each tier names a rate_limit_tiers entry), with errors under path ("policy.keys[3].id: …"),
// for keys that reached the document another way than its JSON (a snapshot's binary key table).
// It returns a *strictjson.Errors or nil.
func ValidateKeys(doc *Document, path string) error {
	var d strictjson.Decoder
	kp := strictjson.Join(path, "keys")
	checkKeys(&d, doc.Keys, kp)
	names := make(map[string]bool, len(doc.RateLimitTiers))
	for _, t := range doc.RateLimitTiers {
		names[t.Name] = true
	}
	for i, k := range doc.Keys {
		if k.Tier != "" && !names[k.Tier] {
			d.FieldErrorf(strictjson.Index(kp, i), "tier", "names no rate_limit_tiers entry (%q)", k.Tier)
		}
	}
	return d.Err()
}
