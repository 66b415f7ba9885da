// Package testpolicy builds large policy documents for benchmarks and tests: the sizes the
// performance targets name (10,000 keys, 1,000 routes) without committing megabytes of JSON.
package testpolicy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/portcullis/portcullis/shared/policy"
)

// RawKey is the raw API key of key i in Large's documents.
func RawKey(i int) string { return fmt.Sprintf("pcs_key_%d", i) }

// Large returns a valid document with the given number of keys and routes. Route i matches host
// svc<i>.example.com and prefix /svc/<i>/; key i may reach route i%routes; every tenth key is
// inactive.
func Large(keys, routes int) *policy.Document {
	doc := &policy.Document{Version: policy.Version, DefaultAction: policy.ActionDeny, DefaultLimits: policy.DefaultLimitsValue()}
	for i := range routes {
		doc.Routes = append(doc.Routes, policy.Route{
			Name:   fmt.Sprintf("route-%04d", i),
			Match:  policy.Match{Hosts: []string{fmt.Sprintf("svc%d.example.com", i)}, PathPrefix: fmt.Sprintf("/svc/%d/", i), Methods: []string{"GET", "POST"}},
			Auth:   policy.Auth{Type: policy.AuthAPIKey},
			Limits: policy.DefaultLimitsValue(),
		})
	}
	exp := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range keys {
		sum := sha256.Sum256([]byte(RawKey(i)))
		k := policy.Key{
			ID: fmt.Sprintf("key_%016d", i), Name: fmt.Sprintf("tenant %d", i), SHA256: hex.EncodeToString(sum[:]),
			Active: i%10 != 0, Permissions: []string{"read", "write"}, ExpiresAt: exp,
		}
		if routes > 0 {
			k.AllowedPaths = []string{fmt.Sprintf("/svc/%d/", i%routes)}
		}
		doc.Keys = append(doc.Keys, k)
	}
	return doc
}
