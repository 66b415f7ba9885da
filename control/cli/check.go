package cli

import (
	"fmt"
	"time"

	"github.com/portcullis/portcullis/control/checks"
	"github.com/spf13/cobra"
)

// serverReport is GET /v1/checks.
type serverReport struct {
	SnapshotVersion uint64 `json:"snapshot_version"`
	checks.Report
}

func (a *app) policyCheck() *cobra.Command {
	var (
		failOn string
		server bool
	)
	cmd := &cobra.Command{
		Use:   "check FILE | --server",
		Short: "Validate a policy, then warn about risky settings (PC001…); exit 0 clean, 1 warnings, 2 invalid",
		Long: `check validates a complete policy document (the filter's inline policy: keys and webhooks
included; YAML or JSON; - for stdin) offline, then lists warnings, each with an id, a severity
and the JSON path. --server checks the server's published snapshot instead (GET /v1/checks),
which adds what only the server knows: keys unused for 90 days, verifier secrets never rotated.

Exit 0: valid, no warning at or above --fail-on; 1: such warnings; 2: invalid.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			min, err := parseFailOn(failOn)
			if err != nil {
				return err
			}
			var rep checks.Report
			var version uint64
			switch {
			case server && len(args) == 0:
				sr, _, err := request[serverReport](a, cmd, "GET", "/v1/checks", nil)
				if err != nil {
					return err
				}
				rep, version = sr.Report, sr.SnapshotVersion
			case !server && len(args) == 1:
				doc, err := a.readDocument(args[0])
				if err != nil {
					return err
				}
				rep = checks.File(doc, checks.Inputs{Now: time.Now()})
			default:
				return exitf(ExitUsage, "give one policy FILE, or --server")
			}
			out := any(rep)
			if server {
				out = serverReport{SnapshotVersion: version, Report: rep}
			}
			if err := a.emit(out, func() { a.printReport(rep) }); err != nil {
				return err
			}
			switch {
			case !rep.Valid:
				return silent(ExitInvalid)
			case min != "" && rep.Failing(min):
				return silent(ExitFindings)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&failOn, "fail-on", "medium", "lowest severity that fails the check: low, medium, high, or none")
	cmd.Flags().BoolVar(&server, "server", false, "check the server's published policy and keys (GET /v1/checks)")
	return cmd
}

func parseFailOn(s string) (checks.Severity, error) {
	if s == "none" {
		return "", nil
	}
	sev, err := checks.ParseSeverity(s)
	if err != nil {
		return "", exitf(ExitUsage, "--fail-on: %v, or none", err)
	}
	return sev, nil
}

func (a *app) printReport(rep checks.Report) {
	if !rep.Valid {
		fmt.Fprintf(a.env.Stdout, "invalid: %d problems\n", len(rep.Problems))
		for _, p := range rep.Problems {
			fmt.Fprintf(a.env.Stdout, "  %s: %s\n", first(p.Path, "(document)"), p.Message)
		}
		return
	}
	if len(rep.Warnings) == 0 {
		fmt.Fprintln(a.env.Stdout, "valid, no warnings")
		return
	}
	rows := make([][]string, len(rep.Warnings))
	for i, w := range rep.Warnings {
		rows[i] = []string{w.ID, string(w.Severity), first(w.Path, "(document)"), w.Message}
	}
	a.table([]string{"ID", "SEVERITY", "PATH", "MESSAGE"}, rows)
}
