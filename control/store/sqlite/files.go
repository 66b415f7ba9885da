package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// companions are the suffixes of the files SQLite keeps beside the database. They hold the
// same rows as the database itself: the WAL carries recently written pages, the snapshot
// signing seed among them.
var companions = []string{"", "-wal", "-shm", "-journal"}

// PrivateDir creates dir owner-only if it is missing, and refuses a directory that group or
// others can write: whoever can write it can replace the database or plant a link where SQLite
// creates its -wal file. A directory they can only read is accepted (the files in it are
// owner-only).
//
// # Notes
//
// Permission bits are not checked on Windows, where they do not describe access.
func PrivateDir(dir string) error {
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if mode := fi.Mode(); mode.Perm()&0o022 != 0 {
		return fmt.Errorf("data directory %s is writable by group or others (mode %04o); it holds the signing key: run chmod go-w %s",
			dir, uint32(mode.Perm()), dir)
	}
	return nil
}

// ownerOnly creates the database file owner-only before SQLite opens it, and makes the
// database and any companion left by an earlier run owner-only. SQLite creates the -wal and
// -shm files with the database file's mode, so once the database is 0600 so are they.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	for _, suffix := range companions {
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
