package cli

import (
	"fmt"
	"net/url"
	"time"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/spf13/cobra"
)

type revocationList struct {
	Revocations []admin.RevocationView `json:"revocations"`
}

func (a *app) revocationsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "revocations", Short: "Revoke JWTs by jti until they expire"}
	list := &cobra.Command{
		Use: "list", Short: "List unexpired revocations", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, raw, err := request[revocationList](a, cmd, "GET", "/v1/revocations", nil)
			if err != nil {
				return err
			}
			return a.emit(raw, func() {
				rows := make([][]string, len(l.Revocations))
				for i, v := range l.Revocations {
					rows[i] = []string{v.JTI, fmtTime(&v.ExpiresAt), fmtTime(&v.CreatedAt), v.CreatedBy}
				}
				a.table([]string{"JTI", "EXPIRES", "CREATED", "BY"}, rows)
			})
		},
	}
	var expires string
	create := &cobra.Command{
		Use: "create JTI --expires EXPIRY", Short: "Refuse the token with this jti until EXPIRY (at or after its exp)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if expires == "" {
				return exitf(ExitUsage, "--expires is required (the token's exp or later)")
			}
			at, err := parseExpiry(expires, time.Now())
			if err != nil {
				return err
			}
			body := map[string]any{"jti": args[0], "expires_at": at.UTC().Format(time.RFC3339)}
			v, raw, err := request[admin.RevocationView](a, cmd, "POST", "/v1/revocations", body)
			if err != nil {
				return err
			}
			return a.emit(raw, func() {
				a.fields([][2]string{{"jti", v.JTI}, {"expires_at", fmtTime(&v.ExpiresAt)}, {"created_at", fmtTime(&v.CreatedAt)}, {"created_by", v.CreatedBy}})
			})
		},
	}
	create.Flags().StringVar(&expires, "expires", "", "RFC 3339 time or a duration from now (24h, 7d)")
	del := &cobra.Command{
		Use: "delete JTI", Short: "Lift a revocation", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := request[struct{}](a, cmd, "DELETE", "/v1/revocations/"+url.PathEscape(args[0]), nil); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "revocation of %s lifted\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, create, del)
	return cmd
}
