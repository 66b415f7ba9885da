package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/portcullis/portcullis/control/logging"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/control/auth"
	"github.com/portcullis/portcullis/control/server"
	"github.com/portcullis/portcullis/control/store/sqlite"
	"github.com/portcullis/portcullis/e2e/stack"
)

// demoKeyName marks the key this command creates, so the previous run's demo key can be revoked.
const demoKeyName = "demo key (make run)"

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger, err := logging.New(stderr, c.logFormat, c.logLevel)
	if err != nil {
		return err
	}
	module, err := os.ReadFile(c.module)
	if err != nil {
		return fmt.Errorf("reading the filter (run make build first): %w", err)
	}
	cfg := stack.Config{
		Module: module,
		Control: server.Config{
			Addr: c.control, DataPath: c.data, DatabaseURL: c.databaseURL,
			DataplaneToken: getenv("PORTCULLIS_DATAPLANE_TOKEN"),
			InitialPolicy:  demoPolicy, Logger: logger, Stdout: stdout,
		},
		GatewayAddr: c.listen, AdminAddr: c.admin, Workers: c.workers, Logger: logger, Timeouts: c.timeouts,
		MaxPolicyAge: c.maxPolicyAge,
	}
	// Every port first: a second make run beside a running one must fail here, before it
	// writes anything to the data directory or the store.
	if err := stack.Listen(&cfg); err != nil {
		return err
	}
	tokenFile := filepath.Join(filepath.Dir(c.data), "admin-token")
	adminToken, saved, err := adminToken(getenv, tokenFile)
	if err != nil {
		cfg.Control.Listener.Close()
		cfg.GatewayListener.Close()
		cfg.AdminListener.Close()
		return err
	}
	cfg.Control.AdminToken = adminToken
	s, err := stack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()

	api := &stack.Client{BaseURL: s.ControlURL(), Token: adminToken}
	key, err := demoKey(ctx, api)
	if err != nil {
		return fmt.Errorf("creating the demo key: %w", err)
	}
	probe := [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "localhost"}, {":scheme", "http"}, {"x-api-key", key}}
	if err := s.WaitStatus(ctx, probe, http.StatusOK, 10*time.Second); err != nil {
		return fmt.Errorf("publishing the demo key: %w", err)
	}

	fmt.Fprintf(stdout, "gateway: %s (upstream: built-in echo, %d filter VMs)\n", s.GatewayURL(), len(s.Host().VMs()))
	fmt.Fprintf(stdout, "gateway metrics: %s/metrics (readiness: %s/readyz)\n", s.AdminURL(), s.AdminURL())
	fmt.Fprintf(stdout, "admin API: %s/v1 (docs/control-api.md)\n", s.ControlURL())
	if saved != "" {
		fmt.Fprintf(stdout, "admin token: %s (kept in %s; set PORTCULLIS_ADMIN_TOKEN to choose your own)\n", adminToken, saved)
	}
	fmt.Fprintf(stdout, "demo key: %s\n", key)
	fmt.Fprintf(stdout, "try: curl -H 'x-api-key: %s' %s/anything\n", key, s.GatewayURL())

	select {
	case <-ctx.Done():
		return nil
	case err := <-s.Errors():
		return err
	}
}

// adminToken is PORTCULLIS_ADMIN_TOKEN, or the token this command generated on an earlier
// start and kept in file (owner-only; a file left readable by others is made owner-only).
// saved names the file when the token came from it. The file's directory is the data
// directory, which must not be writable by group or others.
func adminToken(getenv func(string) string, file string) (token, saved string, err error) {
	if t := getenv("PORTCULLIS_ADMIN_TOKEN"); t != "" {
		return t, "", nil
	}
	if err := sqlite.PrivateDir(filepath.Dir(file)); err != nil {
		return "", "", err
	}
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
		t := strings.TrimSpace(string(b))
		if len(t) < admin.MinTokenLen {
			return "", "", fmt.Errorf("%s holds no admin token; delete it to generate a new one", file)
		}
		if err := os.Chmod(file, 0o600); err != nil {
			return "", "", err
		}
		return t, file, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", "", err
	}
	t, err := auth.NewSecret(rand.Reader, auth.AdminPrefix)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(file, []byte(t+"\n"), 0o600); err != nil {
		return "", "", err
	}
	return t, file, nil
}

// demoKey creates a fresh demo key through the admin API, as an operator would, and revokes the
// demo keys of earlier runs.
func demoKey(ctx context.Context, api *stack.Client) (string, error) {
	keys, err := api.Keys(ctx)
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		if k.Name == demoKeyName && k.RevokedAt == nil {
			if err := api.RevokeKey(ctx, k.ID); err != nil {
				return "", err
			}
		}
	}
	k, _, err := api.CreateKey(ctx, stack.NewKey{Name: demoKeyName})
	if err != nil {
		return "", err
	}
	return k.Key, nil
}
