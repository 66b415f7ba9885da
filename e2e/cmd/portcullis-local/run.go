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

// demoKeyName marks the key this command creates, so a run can tell its demo keys from others.
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
	dataDir := filepath.Dir(c.data)
	var key string // the demo key, made ready before the filter starts
	cfg := stack.Config{
		Module: module,
		Control: server.Config{
			Addr: c.control, DataPath: c.data, DatabaseURL: c.databaseURL,
			DataplaneToken: getenv("PORTCULLIS_DATAPLANE_TOKEN"),
			InitialPolicy:  demoPolicy, Logger: logger, Stdout: stdout,
		},
		GatewayAddr: c.listen, AdminAddr: c.admin, Workers: c.workers, Logger: logger, Timeouts: c.timeouts,
		MaxPolicyAge: c.maxPolicyAge, Upstream: c.upstream,
	}
	// Every port first: a second make run beside a running one must fail here, before it
	// writes anything to the data directory or the store.
	if err := stack.Listen(&cfg); err != nil {
		return err
	}
	adminToken, origin, err := adminToken(getenv, filepath.Join(dataDir, "admin-token"))
	if err != nil {
		cfg.Control.Listener.Close()
		cfg.GatewayListener.Close()
		cfg.AdminListener.Close()
		return err
	}
	cfg.Control.AdminToken = adminToken
	// The demo key is in the filter's first snapshot: no request is refused (and logged as a
	// denial) while it travels.
	cfg.BeforeFilter = func(ctx context.Context, controlURL string) error {
		var err error
		key, err = demoKey(ctx, &stack.Client{BaseURL: controlURL, Token: adminToken}, filepath.Join(dataDir, "demo-key"))
		if err != nil {
			return fmt.Errorf("the demo key: %w", err)
		}
		return nil
	}
	s, err := stack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	probe := [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "localhost"}, {":scheme", "http"}, {"x-api-key", key}}
	if err := s.WaitStatus(ctx, probe, http.StatusOK, 10*time.Second); err != nil {
		return fmt.Errorf("the filter refuses the demo key: %w", err)
	}

	upstream := "built-in echo"
	if c.upstream != nil {
		upstream = c.upstream.String()
	}
	fmt.Fprintf(stdout, "gateway: %s (upstream: %s, %d filter VMs)\n", s.GatewayURL(), upstream, len(s.Host().VMs()))
	fmt.Fprintf(stdout, "gateway metrics: %s/metrics (readiness: %s/readyz)\n", s.AdminURL(), s.AdminURL())
	fmt.Fprintf(stdout, "admin API: %s/v1 (docs/control-api.md)\n", s.ControlURL())
	switch origin.kind {
	case tokenCreated:
		fmt.Fprintf(stdout, "admin token: %s (new: printed only now; kept in %s)\n", adminToken, origin.file)
	case tokenKept:
		fmt.Fprintf(stdout, "admin token: kept in %s (TOKEN=$(cat %s))\n", origin.file, origin.file)
	case tokenFromEnv:
		fmt.Fprintln(stdout, "admin token: PORTCULLIS_ADMIN_TOKEN")
	}
	fmt.Fprintf(stdout, "demo key: %s (kept in %s for the next make run)\n", key, filepath.Join(dataDir, "demo-key"))
	fmt.Fprintf(stdout, "try: curl -H 'x-api-key: %s' %s/anything\n", key, s.GatewayURL())

	select {
	case <-ctx.Done():
		return nil
	case err := <-s.Errors():
		return err
	}
}

// tokenOrigin says where the admin token came from, which decides whether it is printed: in
// full only the one time it is created.
type tokenOrigin struct {
	kind int
	file string
}

const (
	tokenFromEnv = iota
	tokenKept
	tokenCreated
)

// adminToken is PORTCULLIS_ADMIN_TOKEN, or the token this command generated on an earlier
// start and kept in file (owner-only; a file left readable by others is made owner-only), or
// a new one written there. The file's directory is the data directory, which must not be
// writable by group or others.
func adminToken(getenv func(string) string, file string) (string, tokenOrigin, error) {
	if t := getenv("PORTCULLIS_ADMIN_TOKEN"); t != "" {
		return t, tokenOrigin{kind: tokenFromEnv}, nil
	}
	if err := sqlite.PrivateDir(filepath.Dir(file)); err != nil {
		return "", tokenOrigin{}, err
	}
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
		t := strings.TrimSpace(string(b))
		if len(t) < admin.MinTokenLen {
			return "", tokenOrigin{}, fmt.Errorf("%s holds no admin token; delete it to generate a new one", file)
		}
		if err := os.Chmod(file, 0o600); err != nil {
			return "", tokenOrigin{}, err
		}
		return t, tokenOrigin{tokenKept, file}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", tokenOrigin{}, err
	}
	t, err := auth.NewSecret(rand.Reader, auth.AdminPrefix)
	if err != nil {
		return "", tokenOrigin{}, err
	}
	if err := os.WriteFile(file, []byte(t+"\n"), 0o600); err != nil {
		return "", tokenOrigin{}, err
	}
	return t, tokenOrigin{tokenCreated, file}, nil
}

// demoKey returns the demo key kept in file by an earlier run while that key is still active,
// so restarts do not fill the key listing with revoked demo keys. Otherwise it creates a fresh
// one through the admin API, as an operator would, keeps it in file (owner-only) and revokes
// any other active demo key.
func demoKey(ctx context.Context, api *stack.Client, file string) (string, error) {
	keptID, keptKey := "", ""
	if b, err := os.ReadFile(file); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			keptID, keptKey = f[0], f[1]
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	keys, err := api.Keys(ctx)
	if err != nil {
		return "", err
	}
	var others []string
	for _, k := range keys {
		switch {
		case k.Name != demoKeyName || k.RevokedAt != nil:
		case k.ID == keptID:
			return keptKey, nil
		default:
			others = append(others, k.ID)
		}
	}
	for _, id := range others {
		if err := api.RevokeKey(ctx, id); err != nil {
			return "", err
		}
	}
	k, _, err := api.CreateKey(ctx, stack.NewKey{Name: demoKeyName})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(file, []byte(k.ID+" "+k.Key+"\n"), 0o600); err != nil {
		return "", err
	}
	return k.Key, nil
}
