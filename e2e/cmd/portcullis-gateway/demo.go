package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// demoKey returns a fresh random API key; only its hash goes into the policy.
func demoKey() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "pcs_" + hex.EncodeToString(b), nil
}

// demoConfig is a plugin configuration whose policy protects every path with API keys and
// knows exactly one: the demo key.
func demoConfig(key string) ([]byte, error) {
	sum := sha256.Sum256([]byte(key))
	type obj = map[string]any
	return json.Marshal(obj{"policy": obj{
		"version":        1,
		"default_action": "deny",
		"routes": []obj{{
			"name":  "all",
			"match": obj{"path_prefix": "/"},
			"auth":  obj{"type": "api_key"},
		}},
		"keys": []obj{{"id": "demo", "name": "demo key", "sha256": hex.EncodeToString(sum[:]), "active": true}},
	}})
}
