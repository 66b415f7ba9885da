package cli

import (
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// auditList is what the table shows of GET /v1/audit; -o json prints the whole answer
// (before and after views included).
type auditList struct {
	Entries []struct {
		ID                    int64
		At                    time.Time
		Actor, Action, Target string
		Version               *uint64
	} `json:"entries"`
	NextCursor *string `json:"next_cursor"`
}

func (a *app) auditCmd() *cobra.Command {
	var (
		limit  int
		cursor string
	)
	cmd := &cobra.Command{
		Use:   "audit [--limit N] [--cursor C]",
		Short: "Show the audit log, newest first (-o json for the before/after views)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > 1000 {
				return exitf(ExitUsage, "--limit must be from 1 to 1000")
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			l, raw, err := request[auditList](a, cmd, "GET", "/v1/audit?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			return a.emit(raw, func() {
				rows := make([][]string, len(l.Entries))
				for i, e := range l.Entries {
					v := "-"
					if e.Version != nil {
						v = strconv.FormatUint(*e.Version, 10)
					}
					rows[i] = []string{strconv.FormatInt(e.ID, 10), fmtTime(&e.At), e.Actor, e.Action, first(e.Target, "-"), v}
				}
				a.table([]string{"ID", "AT", "ACTOR", "ACTION", "TARGET", "VERSION"}, rows)
				if l.NextCursor != nil {
					a.env.Stderr.Write([]byte("older entries: --cursor " + *l.NextCursor + "\n"))
				}
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "entries to show (1-1000)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue from an earlier answer's next cursor")
	return cmd
}
