package cli

import (
	"strconv"

	"github.com/portcullis/portcullis/control/jwks"
	"github.com/spf13/cobra"
)

type jwksStatuses struct {
	KeySets []jwks.Status `json:"key_sets"`
}

func (a *app) jwksCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "jwks", Short: "The key sets the server fetches for JWT providers' jwks_uri"}
	call := func(use, short, method, path string) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				l, raw, err := request[jwksStatuses](a, cmd, method, path, nil)
				if err != nil {
					return err
				}
				return a.emit(raw, func() {
					rows := make([][]string, len(l.KeySets))
					for i, s := range l.KeySets {
						rows[i] = []string{s.URI, fmtBool(s.OK), strconv.Itoa(s.Keys), fmtTime(&s.FetchedAt), fmtTime(&s.NextAt), first(s.Error, "-")}
					}
					a.table([]string{"URI", "OK", "KEYS", "FETCHED", "NEXT", "ERROR"}, rows)
				})
			},
		}
	}
	cmd.AddCommand(call("status", "The last fetch of each jwks_uri", "GET", "/v1/jwks"),
		call("refresh", "Fetch every jwks_uri now (a changed set publishes a new snapshot)", "POST", "/v1/jwks/refresh"))
	return cmd
}
