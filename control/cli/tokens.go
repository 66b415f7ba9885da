package cli

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/spf13/cobra"
)

type tokenList struct {
	Tokens     []admin.TokenView `json:"tokens"`
	NextCursor *string           `json:"next_cursor"`
}

type createdToken struct {
	admin.TokenView
	Token string `json:"token"`
}

// tokenPath maps a token kind to its collection.
func tokenPath(kind string) (string, error) {
	switch kind {
	case "admin":
		return "/v1/admin-tokens", nil
	case "dataplane":
		return "/v1/dataplane-tokens", nil
	}
	return "", exitf(ExitUsage, "--kind must be admin or dataplane, not %q", kind)
}

func (a *app) tokensCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Create, list and revoke admin and data-plane tokens"}
	cmd.AddCommand(a.tokensCreate(), a.tokensList(), a.tokensRevoke())
	return cmd
}

func tokenFields(t admin.TokenView) [][2]string {
	return [][2]string{{"id", t.ID}, {"name", t.Name}, {"kind", t.Kind}, {"role", first(t.Role, "-")},
		{"masked_token", t.MaskedToken}, {"created_at", fmtTime(&t.CreatedAt)}, {"created_by", t.CreatedBy}, {"revoked_at", fmtTime(t.RevokedAt)}}
}

func (a *app) tokensCreate() *cobra.Command {
	var kind, name, role string
	cmd := &cobra.Command{
		Use:   "create --kind admin|dataplane --name NAME [--role admin|read-only]",
		Short: "Create a token; it is printed this once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := tokenPath(kind)
			if err != nil {
				return err
			}
			if name == "" {
				return exitf(ExitUsage, "--name is required")
			}
			body := map[string]any{"name": name}
			if kind == "admin" {
				body["role"] = role
			} else if cmd.Flags().Changed("role") {
				return exitf(ExitUsage, "--role is for admin tokens")
			}
			t, raw, err := request[createdToken](a, cmd, "POST", path, body)
			if err != nil {
				return err
			}
			return a.emit(raw, func() {
				a.fields(tokenFields(t.TokenView))
				fmt.Fprintf(a.env.Stdout, "\ntoken: %s\n", t.Token)
				fmt.Fprintln(a.env.Stderr, "The token is shown only now: store it in your secret manager. The server keeps only its hash.")
			})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "admin", "admin or dataplane")
	cmd.Flags().StringVar(&name, "name", "", "what the token is for")
	cmd.Flags().StringVar(&role, "role", "admin", "admin tokens: admin or read-only")
	return cmd
}

func (a *app) tokensList() *cobra.Command {
	var kinds []string
	cmd := &cobra.Command{
		Use:   "list [--kind admin|dataplane]",
		Short: "List tokens (masked), every page",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			all := []admin.TokenView{}
			for _, kind := range kinds {
				path, err := tokenPath(kind)
				if err != nil {
					return err
				}
				for cursor := ""; ; {
					var page tokenList
					if _, err := c.call(cmd.Context(), "GET", path+"?limit=100&cursor="+url.QueryEscape(cursor), nil, &page); err != nil {
						return err
					}
					all = append(all, page.Tokens...)
					if page.NextCursor == nil {
						break
					}
					cursor = *page.NextCursor
				}
			}
			return a.emit(tokenList{Tokens: all}, func() {
				rows := make([][]string, len(all))
				for i, t := range all {
					status := "active"
					if t.RevokedAt != nil {
						status = "revoked"
					}
					rows[i] = []string{t.ID, t.Name, t.Kind, first(t.Role, "-"), status, t.MaskedToken, fmtTime(&t.CreatedAt)}
				}
				a.table([]string{"ID", "NAME", "KIND", "ROLE", "STATUS", "TOKEN", "CREATED"}, rows)
			})
		},
	}
	cmd.Flags().StringSliceVar(&kinds, "kind", []string{"admin", "dataplane"}, "admin, dataplane or both")
	return cmd
}

func (a *app) tokensRevoke() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token (adm_… or dpt_…); it stops working on its next request",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := "admin"
			switch {
			case strings.HasPrefix(args[0], "dpt_"):
				kind = "dataplane"
			case !strings.HasPrefix(args[0], "adm_"):
				return exitf(ExitUsage, "%q is not a token id (adm_… or dpt_…)", args[0])
			}
			path, _ := tokenPath(kind)
			t, raw, err := request[admin.TokenView](a, cmd, "DELETE", path+"/"+url.PathEscape(args[0]), nil)
			if err != nil {
				return err
			}
			return a.emit(raw, func() { a.fields(tokenFields(t)) })
		},
	}
}
