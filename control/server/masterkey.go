package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/portcullis/portcullis/control/seal"
	"github.com/portcullis/portcullis/control/store/sqlite"
)

// loadedSealer is the master key's sealer and the key file this start created, if any.
type loadedSealer struct {
	*seal.Sealer
	created string
}

func loadSealer(cfg Config) (loadedSealer, error) {
	if strings.TrimSpace(cfg.MasterKey) == "" && cfg.MasterKeyFile != "" {
		// The key file opens every sealed secret: the same rules as the store's own files,
		// also when the store is PostgreSQL and the file is alone in its directory.
		if err := sqlite.PrivateDir(filepath.Dir(cfg.MasterKeyFile)); err != nil {
			return loadedSealer{}, fmt.Errorf("master key: %w", err)
		}
		if err := os.Chmod(cfg.MasterKeyFile, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return loadedSealer{}, fmt.Errorf("master key: %w", err)
		}
	}
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
