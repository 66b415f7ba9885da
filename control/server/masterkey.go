package server

import (
	"fmt"
	"os"

	"github.com/portcullis/portcullis/control/seal"
)

// loadedSealer is the master key's sealer and the key file this start created, if any.
type loadedSealer struct {
	*seal.Sealer
	created string
}

func loadSealer(cfg Config) (loadedSealer, error) {
	key, created, err := seal.LoadKey(cfg.MasterKey, cfg.MasterKeyFile)
	if err != nil {
		return loadedSealer{}, fmt.Errorf("master key: %w", err)
	}
	s, err := seal.New(key)
	if err != nil {
		return loadedSealer{}, fmt.Errorf("master key: %w", err)
	}
	l := loadedSealer{Sealer: s}
	if created {
		l.created = cfg.MasterKeyFile
	}
	return l, nil
}

// forget removes a key file this start created for a database that turned out to be sealed
// under another key, so the next start with the right key file or variable is not confused.
func (l loadedSealer) forget() {
	if l.created != "" {
		os.Remove(l.created)
	}
}
