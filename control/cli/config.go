package cli

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultAddr is the control server's default listen address as a URL.
const DefaultAddr = "http://localhost:8081"

// connFlags are the global connection flags.
type connFlags struct {
	addr, tokenFile, config string
}

// fileConfig is the config file: YAML with these keys only.
type fileConfig struct {
	Addr      string `yaml:"addr"`
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
}

// conn is a resolved server address and token.
type conn struct {
	addr, token string
}

// resolve picks each setting from, in order: the flag, the environment, the config file, the
// default. A token is only ever read from a file or the environment, never from argv, so it
// stays out of shell history and the process list.
func (a *app) resolve() (conn, error) {
	cfg, err := a.readConfig()
	if err != nil {
		return conn{}, err
	}
	c := conn{addr: first(a.conn.addr, a.env.Getenv("PORTCULLIS_ADDR"), cfg.Addr, DefaultAddr)}
	c.addr = strings.TrimRight(c.addr, "/")
	if !strings.HasPrefix(c.addr, "http://") && !strings.HasPrefix(c.addr, "https://") {
		return conn{}, exitf(ExitUsage, "address %q must start with http:// or https://", c.addr)
	}
	switch {
	case a.conn.tokenFile != "":
		c.token, err = readSecretFile(a.conn.tokenFile)
	case a.env.Getenv("PORTCULLIS_TOKEN") != "":
		c.token = strings.TrimSpace(a.env.Getenv("PORTCULLIS_TOKEN"))
	case cfg.Token != "":
		c.token = cfg.Token
	case cfg.TokenFile != "":
		c.token, err = readSecretFile(cfg.TokenFile)
	default:
		err = exitf(ExitUsage, "no admin token: set PORTCULLIS_TOKEN, pass --token-file, or put token_file in %s", a.configPath())
	}
	return c, err
}

func (a *app) configPath() string {
	switch {
	case a.conn.config != "":
		return a.conn.config
	case a.env.ConfigPath != "":
		return a.env.ConfigPath
	case a.env.Getenv("XDG_CONFIG_HOME") != "":
		return filepath.Join(a.env.Getenv("XDG_CONFIG_HOME"), "portcullis", "config")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".config", "portcullis", "config")
}

// readConfig reads the config file; a missing default file is no error, a missing file named
// with --config is.
func (a *app) readConfig() (fileConfig, error) {
	var cfg fileConfig
	path := a.configPath()
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && a.conn.config == "" {
		return cfg, nil
	}
	if err != nil {
		return cfg, exitf(ExitUsage, "config: %v", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, exitf(ExitUsage, "config %s: %v", path, err)
	}
	if cfg.Token != "" {
		if err := privateFile(path); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// readSecretFile reads a token from a file that only its owner can read.
func readSecretFile(path string) (string, error) {
	if err := privateFile(path); err != nil {
		return "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", exitf(ExitUsage, "token file: %v", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", exitf(ExitUsage, "token file %s is empty", path)
	}
	return tok, nil
}

// privateFile refuses a file that group or others may read or write, as ssh does for keys: a
// token there is as good as leaked on a shared machine.
func privateFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return exitf(ExitUsage, "%s holds a token but has mode %04o: run chmod 600 %s", path, perm, path)
	}
	return nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
