// Package cli is the `portcullis` command: the admin API of the control server from a shell
// (keys, tokens, policy, webhook verifiers, JWT revocations, audit, dry-run evaluation), the
// offline policy check, and local helpers (hash-key, secret generate). Commands are built with
// spf13/cobra; Main runs one invocation and returns its exit code.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes. They are distinct so scripts and CI can branch on them.
const (
	ExitOK = 0
	// ExitFindings: `policy diff` found differences, `policy check` found warnings at or above
	// --fail-on, `evaluate` was refused.
	ExitFindings = 1
	// ExitInvalid: a policy document (local file or what the server was sent) is invalid.
	ExitInvalid = 2
	// ExitAPI: the server answered with an error, or could not be reached.
	ExitAPI = 3
	// ExitConflict: the policy changed on the server between read and write (If-Match failed);
	// nothing was applied.
	ExitConflict = 4
	// ExitUsage: a bad flag, argument or configuration (BSD's EX_USAGE).
	ExitUsage = 64
)

// Env is the process's environment, injected so tests run the CLI in-process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// ConfigPath overrides the default config file location (tests); "" means the default.
	ConfigPath string
}

// OSEnv is the real process environment.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// exitError carries an exit code and a message for stderr.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// silent ends a command with a code and nothing more to print (the output said it all).
func silent(code int) error { return &exitError{code: code} }

// app is one invocation: the environment and the global flags.
type app struct {
	env  Env
	conn connFlags
	out  string // -o: table, json or yaml
	// afterPlan, when set, runs between reading the policy and writing it (tests: a concurrent
	// change).
	afterPlan func()
}

// Main runs the CLI with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	return (&app{env: env}).main(ctx, args)
}

func (a *app) main(ctx context.Context, args []string) int {
	env := a.env
	root := a.root()
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(env.Stderr, "portcullis:", ee.err)
		}
		return ee.code
	}
	// cobra's own errors: unknown command or flag, wrong number of arguments.
	fmt.Fprintln(env.Stderr, "portcullis:", err)
	fmt.Fprintln(env.Stderr, "Run 'portcullis --help' for usage.")
	return ExitUsage
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "portcullis",
		Short: "Manage a Portcullis control server and check policies",
		Long: `portcullis talks to the Portcullis control server's admin API and checks policy files.

The server address and admin token come from flags, the environment or a config file:
  --addr, PORTCULLIS_ADDR, or "addr:" in the config file        (default http://localhost:8081)
  --token-file, PORTCULLIS_TOKEN, or "token:"/"token_file:" in the config file
The config file is $XDG_CONFIG_HOME/portcullis/config (else ~/.config/portcullis/config), YAML,
and must not be readable by group or others when it holds a token.

Exit codes: 0 success; 1 findings (diff present, check warnings at or above --fail-on,
evaluate refused); 2 invalid policy; 3 API or network error; 4 the policy changed
concurrently (nothing applied); 64 usage error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.conn.addr, "addr", "", "control server URL (env PORTCULLIS_ADDR)")
	root.PersistentFlags().StringVar(&a.conn.tokenFile, "token-file", "", "file holding the admin token (env PORTCULLIS_TOKEN holds the token itself)")
	root.PersistentFlags().StringVar(&a.conn.config, "config", "", "config file (default $XDG_CONFIG_HOME/portcullis/config)")
	root.PersistentFlags().StringVarP(&a.out, "output", "o", "table", "output format: table, json or yaml")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		switch a.out {
		case "table", "json", "yaml":
			return nil
		}
		return exitf(ExitUsage, "-o must be table, json or yaml, not %q", a.out)
	}
	root.AddCommand(a.keysCmd(), a.tokensCmd(), a.policyCmd(), a.evaluateCmd(), a.auditCmd(),
		a.webhooksCmd(), a.revocationsCmd(), a.jwksCmd(), a.hashKeyCmd(), a.secretCmd())
	return root
}
