package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) policyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Read, diff, apply and check the policy document"}
	cmd.AddCommand(a.policyGet(), a.policyDiff(), a.policyApply(), a.policyCheck())
	return cmd
}

func (a *app) policyGet() *cobra.Command {
	return &cobra.Command{
		Use:   "get",
		Short: "Print the server's policy (JSON; -o yaml for YAML); its ETag goes to stderr",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			r, err := c.do(cmd.Context(), "GET", "/v1/policy", nil) // raw: the ETag header too
			if err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "etag: %s\n", r.header.Get("ETag"))
			if a.out == "yaml" {
				return a.printYAML(r.body)
			}
			return a.printJSON(r.body)
		},
	}
}

// plan is what diff and apply compute: the server's policy and the file's, both normalized.
type plan struct {
	etag         string
	server, file []byte // normalized documents
	raw          []byte // the file as JSON, what apply sends
	diff         string
}

// plan reads the file and the server's policy and verifiers, validates the file as the server
// would and diffs the two. Invalid files end with ExitInvalid and every problem listed.
func (a *app) plan(ctx context.Context, file string) (*client, *plan, error) {
	if file == "" {
		return nil, nil, exitf(ExitUsage, "-f FILE is required")
	}
	c, err := a.client()
	if err != nil {
		return nil, nil, err
	}
	raw, err := a.readDocument(file)
	if err != nil {
		return nil, nil, err
	}
	r, err := c.do(ctx, "GET", "/v1/policy", nil)
	if err != nil {
		return nil, nil, err
	}
	var hooks webhookList
	if _, err := c.call(ctx, "GET", "/v1/webhooks", nil, &hooks); err != nil {
		return nil, nil, err
	}
	names := make([]string, len(hooks.Webhooks))
	for i, h := range hooks.Webhooks {
		names[i] = h.Name
	}
	local, problems := serverShape(raw, names)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(a.env.Stderr, "  %s: %s\n", first(p.Path, "(document)"), p.Message)
		}
		return nil, nil, exitf(ExitInvalid, "%s is not a valid policy (%d problems); nothing applied", file, len(problems))
	}
	p := &plan{etag: r.header.Get("ETag"), server: r.body, file: local, raw: raw}
	p.diff = unifiedDiff("server (ETag "+p.etag+")", file, pretty(p.server), pretty(p.file))
	return c, p, nil
}

func (a *app) policyDiff() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "diff -f FILE",
		Short: "Show how FILE differs from the server's policy (exit 1 when it does)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, p, err := a.plan(cmd.Context(), file)
			if err != nil {
				return err
			}
			if p.diff == "" {
				fmt.Fprintf(a.env.Stderr, "no differences (ETag %s)\n", p.etag)
				return nil
			}
			fmt.Fprint(a.env.Stdout, p.diff)
			return silent(ExitFindings)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "policy file, YAML or JSON (- for stdin)")
	return cmd
}

func (a *app) policyApply() *cobra.Command {
	var (
		file   string
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILE [--dry-run]",
		Short: "Make the server's policy FILE: validate, show the diff, then replace it with If-Match",
		Long: `apply validates FILE as the server would, prints the diff against the server's policy and
replaces the policy with If-Match set to the ETag it read, so a change someone else made in
between makes the server refuse (exit 4) and nothing is applied. --dry-run stops after the diff.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, p, err := a.plan(cmd.Context(), file)
			if err != nil {
				return err
			}
			if p.diff == "" {
				fmt.Fprintf(a.env.Stderr, "policy unchanged (ETag %s)\n", p.etag)
				return nil
			}
			fmt.Fprint(a.env.Stdout, p.diff)
			if dryRun {
				fmt.Fprintln(a.env.Stderr, "dry run: valid; nothing applied")
				return nil
			}
			if a.afterPlan != nil {
				a.afterPlan()
			}
			r, err := c.do(cmd.Context(), "PUT", "/v1/policy", p.raw, "If-Match", p.etag)
			if ee, ok := err.(*exitError); ok && ee.code == ExitConflict {
				return exitf(ExitConflict, "the policy changed on the server after it was read (ETag %s): nothing applied; run apply again to see the new diff", p.etag)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "applied: ETag %s -> %s, snapshot version %s\n", p.etag, r.header.Get("ETag"),
				first(r.header.Get("X-Portcullis-Snapshot-Version"), "unchanged"))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "policy file, YAML or JSON (- for stdin)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate and diff only")
	return cmd
}
