package store

import "time"

// Webhook is an inbound webhook verifier. The store keeps its secrets as given, which is
// sealed: the admin package seals them before they are written (control/seal).
type Webhook struct {
	Seq    int64 // creation order, assigned by the store
	Name   string
	Preset string
	// Secret and NextSecret are sealed; NextSecret is nil when no rotation is staged.
	Secret, NextSecret []byte
	// SecretHint and NextSecretHint are what the API shows instead (a mask and the last
	// characters).
	SecretHint, NextSecretHint string
	ToleranceSeconds           int
	URL                        string
	ReplayProtection           bool
	CreatedAt, UpdatedAt       time.Time
}
