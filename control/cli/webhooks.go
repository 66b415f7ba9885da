package cli

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/spf13/cobra"
)

type webhookList struct {
	Webhooks []admin.WebhookView `json:"webhooks"`
}

// shownOnceWebhook is a verifier with a generated secret the server shows this once.
type shownOnceWebhook struct {
	admin.WebhookView
	Secret     string `json:"secret,omitempty"`
	NextSecret string `json:"next_secret,omitempty"`
}

func (a *app) webhooksCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "webhooks", Short: "Manage webhook signature verifiers (secrets read from files, never argv)"}
	cmd.AddCommand(a.webhooksList(), a.webhooksGet(), a.webhooksCreate(), a.webhooksUpdate(), a.webhooksRotate(), a.webhooksDelete())
	return cmd
}

// readSecretArg reads a secret from a file or, for "-", stdin; a trailing newline is dropped.
func (a *app) readSecretArg(flag, path string) (string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(a.env.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return "", exitf(ExitUsage, "--%s: %v", flag, err)
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" {
		return "", exitf(ExitUsage, "--%s: %s is empty", flag, path)
	}
	return s, nil
}

func webhookFields(w admin.WebhookView) [][2]string {
	next := "-"
	if w.MaskedNextSecret != nil {
		next = *w.MaskedNextSecret
	}
	return [][2]string{{"name", w.Name}, {"preset", w.Preset}, {"masked_secret", w.MaskedSecret}, {"masked_next_secret", next},
		{"tolerance_seconds", strconv.Itoa(w.ToleranceSeconds)}, {"url", first(w.URL, "-")}, {"replay_protection", fmtBool(w.ReplayProtection)},
		{"created_at", fmtTime(&w.CreatedAt)}, {"updated_at", fmtTime(&w.UpdatedAt)}}
}

// printShownOnce prints a verifier and the generated secret the server returned, if any.
func (a *app) printShownOnce(body []byte, w shownOnceWebhook) error {
	return a.emit(body, func() {
		a.fields(webhookFields(w.WebhookView))
		for _, s := range [][2]string{{"secret", w.Secret}, {"next_secret", w.NextSecret}} {
			if s[1] != "" {
				fmt.Fprintf(a.env.Stdout, "\n%s: %s\n", s[0], s[1])
				fmt.Fprintf(a.env.Stderr, "The generated %s is shown only now: give it to the provider.\n", s[0])
			}
		}
	})
}

func (a *app) webhooksList() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List verifiers (secrets masked)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, raw, err := request[webhookList](a, cmd, "GET", "/v1/webhooks", nil)
			if err != nil {
				return err
			}
			return a.emit(raw, func() {
				rows := make([][]string, len(l.Webhooks))
				for i, w := range l.Webhooks {
					f := webhookFields(w)
					rows[i] = []string{w.Name, w.Preset, w.MaskedSecret, f[3][1], fmtTime(&w.UpdatedAt)}
				}
				a.table([]string{"NAME", "PRESET", "SECRET", "NEXT SECRET", "UPDATED"}, rows)
			})
		},
	}
}

func (a *app) webhooksGet() *cobra.Command {
	return a.webhookCall("get NAME", "Show one verifier", "GET", "", nil)
}

func (a *app) webhooksDelete() *cobra.Command {
	return &cobra.Command{
		Use: "delete NAME", Short: "Delete a verifier no route binds", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := request[struct{}](a, cmd, "DELETE", "/v1/webhooks/"+url.PathEscape(args[0]), nil); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "deleted %s\n", args[0])
			return nil
		},
	}
}

// optionalBody is a command's request body, built by body when the command has one.
func optionalBody(cmd *cobra.Command, body func(*cobra.Command) (any, error)) (any, error) {
	if body == nil {
		return nil, nil
	}
	return body(cmd)
}

// webhookCall is a command on one verifier by name.
func (a *app) webhookCall(use, short, method, suffix string, body func(*cobra.Command) (any, error)) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := optionalBody(cmd, body)
			if err != nil {
				return err
			}
			w, raw, err := request[shownOnceWebhook](a, cmd, method, "/v1/webhooks/"+url.PathEscape(args[0])+suffix, b)
			if err != nil {
				return err
			}
			return a.printShownOnce(raw, w)
		},
	}
}

// webhookFlags are the settable fields of a verifier.
type webhookFlags struct {
	preset, secretFile, nextSecretFile, url string
	tolerance                               int
	replay, clearNext                       bool
}

func (f *webhookFlags) register(cmd *cobra.Command, update bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.preset, "preset", "", "signing scheme: github, stripe, slack, standard-webhooks, generic, …")
	fl.StringVar(&f.secretFile, "secret-file", "", "file holding the secret (- for stdin); without it on create the server generates one")
	fl.StringVar(&f.nextSecretFile, "next-secret-file", "", "file holding a next secret to stage (- for stdin)")
	fl.IntVar(&f.tolerance, "tolerance", 0, "seconds a signed timestamp may be off (0: the preset's)")
	fl.StringVar(&f.url, "url", "", "the URL the provider signs (URL-signing presets)")
	fl.BoolVar(&f.replay, "replay-protection", false, "refuse a delivery already accepted")
	if update {
		fl.BoolVar(&f.clearNext, "clear-next-secret", false, "remove the staged next secret")
	}
}

func (f *webhookFlags) body(a *app, cmd *cobra.Command, b map[string]any) (map[string]any, error) {
	changed := cmd.Flags().Changed
	if f.secretFile != "" && f.secretFile == f.nextSecretFile && f.secretFile == "-" {
		return nil, exitf(ExitUsage, "only one of --secret-file and --next-secret-file can read stdin")
	}
	for _, s := range []struct{ flag, path, field string }{{"secret-file", f.secretFile, "secret"}, {"next-secret-file", f.nextSecretFile, "next_secret"}} {
		if s.path != "" {
			v, err := a.readSecretArg(s.flag, s.path)
			if err != nil {
				return nil, err
			}
			b[s.field] = v
		}
	}
	if changed("preset") {
		b["preset"] = f.preset
	}
	if changed("tolerance") {
		b["tolerance_seconds"] = f.tolerance
	}
	if changed("url") {
		b["url"] = f.url
	}
	if changed("replay-protection") {
		b["replay_protection"] = f.replay
	}
	if f.clearNext {
		if f.nextSecretFile != "" {
			return nil, exitf(ExitUsage, "--clear-next-secret and --next-secret-file exclude each other")
		}
		b["next_secret"] = nil
	}
	return b, nil
}

func (a *app) webhooksCreate() *cobra.Command {
	var f webhookFlags
	cmd := &cobra.Command{
		Use: "create NAME --preset PRESET [--secret-file FILE]", Short: "Create a verifier", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := f.body(a, cmd, map[string]any{"name": args[0]})
			if err != nil {
				return err
			}
			w, raw, err := request[shownOnceWebhook](a, cmd, "POST", "/v1/webhooks", b)
			if err != nil {
				return err
			}
			return a.printShownOnce(raw, w)
		},
	}
	f.register(cmd, false)
	return cmd
}

func (a *app) webhooksUpdate() *cobra.Command {
	var f webhookFlags
	cmd := a.webhookCall("update NAME [flags]", "Change the fields given of a verifier", "PATCH", "", func(cmd *cobra.Command) (any, error) {
		b, err := f.body(a, cmd, map[string]any{})
		if err == nil && len(b) == 0 {
			err = exitf(ExitUsage, "nothing to change")
		}
		return b, err
	})
	f.register(cmd, true)
	return cmd
}

func (a *app) webhooksRotate() *cobra.Command {
	var next string
	cmd := a.webhookCall("rotate NAME [--next-secret-file FILE]", "Promote the staged next secret and stage a new one (generated unless given)", "POST", "/rotate",
		func(cmd *cobra.Command) (any, error) {
			if next == "" {
				return nil, nil
			}
			s, err := a.readSecretArg("next-secret-file", next)
			return map[string]any{"next_secret": s}, err
		})
	cmd.Flags().StringVar(&next, "next-secret-file", "", "file holding the secret to stage after this one (- for stdin)")
	return cmd
}
