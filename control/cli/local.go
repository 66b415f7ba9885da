package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/control/auth"
	"github.com/spf13/cobra"
)

func (a *app) hashKeyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash-key < KEYFILE",
		Short: "Print the SHA-256 of an API key read from stdin (for keys[].sha256 of an inline policy)",
		Long: `hash-key reads one API key from stdin (never from argv, which shell history and the process
list keep) and prints its lower-case hex SHA-256, what an inline policy's keys[].sha256 holds.
A trailing newline is dropped; the key itself is never printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := io.ReadAll(io.LimitReader(a.env.Stdin, 4096))
			if err != nil {
				return exitf(ExitUsage, "read stdin: %v", err)
			}
			key := strings.TrimRight(string(data), "\r\n")
			switch {
			case key == "":
				return exitf(ExitUsage, "no key on stdin (printf %%s \"$KEY\" | portcullis hash-key)")
			case strings.ContainsAny(key, " \t\r\n"):
				return exitf(ExitUsage, "stdin holds more than one key, or spaces: give exactly one key")
			}
			fmt.Fprintln(a.env.Stdout, auth.Hash(key))
			return nil
		},
	}
}

// secretKind is one kind of secret `secret generate` makes.
type secretKind struct {
	name, use string
	bytes     int
	encode    func([]byte) string
}

var b64url = base64.RawURLEncoding.EncodeToString

func prefixed(prefix string) func([]byte) string {
	return func(b []byte) string { s, _ := auth.NewSecret(bytes.NewReader(b), prefix); return s }
}

// secretKinds is the one table of what can be generated.
var secretKinds = []secretKind{
	{"api-key", "an API key for an inline policy (put the sha256 in keys[].sha256)", auth.SecretBytes, prefixed(auth.KeyPrefix)},
	{"admin-token", "PORTCULLIS_ADMIN_TOKEN", auth.SecretBytes, prefixed(auth.AdminPrefix)},
	{"dataplane-token", "PORTCULLIS_DATAPLANE_TOKEN", auth.SecretBytes, prefixed(auth.DataplanePrefix)},
	{"webhook", "a webhook signing secret to give the provider (portcullis webhooks create --secret-file)", 32, hex.EncodeToString},
	{"standard-webhooks", "a Standard Webhooks secret (whsec_…)", 32, func(b []byte) string { return "whsec_" + base64.StdEncoding.EncodeToString(b) }},
	{"hs256", "an HS256 JWT secret: jwks.keys[].k with \"kty\": \"oct\"", 32, b64url},
	{"hs384", "an HS384 JWT secret: jwks.keys[].k with \"kty\": \"oct\"", 48, b64url},
	{"hs512", "an HS512 JWT secret: jwks.keys[].k with \"kty\": \"oct\"", 64, b64url},
	{"master-key", "PORTCULLIS_MASTER_KEY (seals secrets at rest)", 32, base64.StdEncoding.EncodeToString},
}

func (a *app) secretCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Generate secrets locally"}
	names := make([]string, len(secretKinds))
	var help strings.Builder
	for i, k := range secretKinds {
		names[i] = k.name
		fmt.Fprintf(&help, "  %-17s %3d bits  %s\n", k.name, k.bytes*8, k.use)
	}
	cmd.AddCommand(&cobra.Command{
		Use:       "generate KIND",
		Short:     "Print a new random secret (crypto/rand) and its entropy",
		Long:      "generate prints a new secret on stdout and its entropy on stderr. Kinds:\n" + help.String(),
		Args:      cobra.ExactArgs(1),
		ValidArgs: names,
		RunE: func(cmd *cobra.Command, args []string) error {
			i := slices.IndexFunc(secretKinds, func(k secretKind) bool { return k.name == args[0] })
			if i < 0 {
				return exitf(ExitUsage, "unknown kind %q: want one of %s", args[0], strings.Join(names, ", "))
			}
			k := secretKinds[i]
			b := make([]byte, k.bytes)
			if _, err := rand.Read(b); err != nil {
				return exitf(ExitAPI, "crypto/rand: %v", err)
			}
			s := k.encode(b)
			out := map[string]any{"kind": k.name, "secret": s, "entropy_bits": k.bytes * 8}
			if k.name == "api-key" {
				out["sha256"] = auth.Hash(s)
			}
			return a.emit(out, func() {
				fmt.Fprintln(a.env.Stdout, s)
				fmt.Fprintf(a.env.Stderr, "%s: %d bits of entropy from crypto/rand; for %s\n", k.name, k.bytes*8, k.use)
				if h, ok := out["sha256"]; ok {
					fmt.Fprintf(a.env.Stderr, "sha256: %s\n", h)
				}
			})
		},
	})
	return cmd
}
