package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/spf13/cobra"
)

// createdKey is the answer to POST /v1/keys: the key's view and, this once, the key.
type createdKey struct {
	admin.KeyView
	Key string `json:"key"`
}

type keyList struct {
	Keys       []admin.KeyView `json:"keys"`
	NextCursor *string         `json:"next_cursor"`
}

var keyStatuses = []string{"active", "inactive", "expired", "revoked"}

func (a *app) keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Create, list, change and revoke API keys"}
	cmd.AddCommand(a.keysCreate(), a.keysList(), a.keysGet(), a.keysUpdate(), a.keysRevoke(), a.keysImport())
	return cmd
}

// keyFlags are the fields of a key settable from flags (create and update).
type keyFlags struct {
	name, tier           string
	paths, perms         []string
	admin, staff, active bool
	expires              string
	noExpiry             bool
}

func (f *keyFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "the key's name (sent upstream in x-portcullis-key-name)")
	fl.StringSliceVar(&f.paths, "allowed-path", nil, "path prefix the key may reach (repeatable; none: every path its routes allow)")
	fl.StringSliceVar(&f.perms, "permission", nil, "permission the key holds (repeatable)")
	fl.BoolVar(&f.admin, "admin", false, "the admin flag routes with \"admin\": true require")
	fl.BoolVar(&f.staff, "staff", false, "the staff flag routes with \"staff\": true require")
	fl.BoolVar(&f.active, "active", true, "false suspends the key")
	fl.StringVar(&f.tier, "tier", "", "the rate-limit tier of the policy's rate_limit_tiers the key is in (\"\": the default tier)")
	fl.StringVar(&f.expires, "expires", "", "expiry: RFC 3339 time, or a duration from now such as 90d or 12h")
	fl.BoolVar(&f.noExpiry, "no-expiry", false, "remove the expiry (update only)")
}

// body builds the JSON body from the flags given (all of them for create).
func (f *keyFlags) body(cmd *cobra.Command, onlyChanged bool) (map[string]any, error) {
	b := map[string]any{}
	set := func(flag string, v any) {
		if !onlyChanged || cmd.Flags().Changed(flag) {
			b[strings.ReplaceAll(flag, "-", "_")] = v
		}
	}
	set("name", f.name)
	set("active", f.active)
	set("admin", f.admin)
	set("staff", f.staff)
	set("tier", f.tier)
	if cmd.Flags().Changed("allowed-path") {
		b["allowed_paths"] = nonNil(f.paths)
	}
	if cmd.Flags().Changed("permission") {
		b["permissions"] = nonNil(f.perms)
	}
	switch {
	case f.expires != "" && f.noExpiry:
		return nil, exitf(ExitUsage, "--expires and --no-expiry exclude each other")
	case f.expires != "":
		t, err := parseExpiry(f.expires, time.Now())
		if err != nil {
			return nil, err
		}
		b["expires_at"] = t.UTC().Format(time.RFC3339)
	case f.noExpiry:
		b["expires_at"] = nil
	}
	return b, nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// parseExpiry reads an RFC 3339 time or a duration from now ("90d", "36h", "1h30m").
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	return time.Time{}, exitf(ExitUsage, "--expires %q: want an RFC 3339 time (2031-01-01T00:00:00Z) or a duration such as 90d or 12h", s)
}

func (a *app) keysCreate() *cobra.Command {
	var f keyFlags
	cmd := &cobra.Command{
		Use:   "create --name NAME [flags]",
		Short: "Create an API key; the key is printed this once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.name == "" {
				return exitf(ExitUsage, "--name is required")
			}
			if f.noExpiry {
				return exitf(ExitUsage, "--no-expiry is for update; a new key without --expires never expires")
			}
			body, err := f.body(cmd, false)
			if err != nil {
				return err
			}
			k, raw, err := request[createdKey](a, cmd, "POST", "/v1/keys", body)
			if err != nil {
				return err
			}
			return a.emit(raw, func() {
				a.fields(keyFields(k.KeyView))
				fmt.Fprintf(a.env.Stdout, "\nkey: %s\n", k.Key)
				fmt.Fprintln(a.env.Stderr, "The key is shown only now: store it in your secret manager. The server keeps only its hash.")
			})
		},
	}
	f.register(cmd)
	return cmd
}

func keyFields(k admin.KeyView) [][2]string {
	return [][2]string{
		{"id", k.ID}, {"name", k.Name}, {"status", k.Status}, {"masked_key", k.MaskedKey},
		{"allowed_paths", fmtList(k.AllowedPaths)}, {"permissions", fmtList(k.Permissions)},
		{"admin", fmtBool(k.Admin)}, {"staff", fmtBool(k.Staff)}, {"expires_at", fmtTime(k.ExpiresAt)},
		{"created_at", fmtTime(&k.CreatedAt)}, {"last_used_at", fmtTime(k.LastUsedAt)},
		{"use_count", strconv.FormatUint(k.UseCount, 10)}, {"revoked_at", fmtTime(k.RevokedAt)},
	}
}

func (a *app) keysList() *cobra.Command {
	var statuses []string
	var name string
	cmd := &cobra.Command{
		Use:   "list [--status S] [--name TEXT]",
		Short: "List API keys (every page), filtered by status and name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range statuses {
				if !slices.Contains(keyStatuses, s) {
					return exitf(ExitUsage, "--status %q: want one of %s", s, strings.Join(keyStatuses, ", "))
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var keys []admin.KeyView
			for cursor := ""; ; {
				path := "/v1/keys?limit=100"
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				var page keyList
				if _, err := c.call(cmd.Context(), "GET", path, nil, &page); err != nil {
					return err
				}
				for _, k := range page.Keys {
					if (len(statuses) == 0 || slices.Contains(statuses, k.Status)) &&
						strings.Contains(strings.ToLower(k.Name), strings.ToLower(name)) {
						keys = append(keys, k)
					}
				}
				if page.NextCursor == nil {
					break
				}
				cursor = *page.NextCursor
			}
			return a.emit(keyList{Keys: nonNilKeys(keys)}, func() {
				rows := make([][]string, 0, len(keys))
				for _, k := range keys {
					rows = append(rows, []string{k.ID, k.Name, k.Status, k.MaskedKey, fmtTime(k.ExpiresAt), fmtTime(k.LastUsedAt), strconv.FormatUint(k.UseCount, 10)})
				}
				a.table([]string{"ID", "NAME", "STATUS", "KEY", "EXPIRES", "LAST USED", "USES"}, rows)
			})
		},
	}
	cmd.Flags().StringSliceVar(&statuses, "status", nil, "only keys with this status: active, inactive, expired, revoked (repeatable)")
	cmd.Flags().StringVar(&name, "name", "", "only keys whose name contains this text (case-insensitive)")
	return cmd
}

func nonNilKeys(k []admin.KeyView) []admin.KeyView {
	if k == nil {
		return []admin.KeyView{}
	}
	return k
}

// keyCommand is get, update and revoke: one key by id.
func (a *app) keyCommand(use, short, method string, body func(*cobra.Command) (any, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := optionalBody(cmd, body)
			if err != nil {
				return err
			}
			k, raw, err := request[admin.KeyView](a, cmd, method, "/v1/keys/"+url.PathEscape(args[0]), b)
			if err != nil {
				return err
			}
			return a.emit(raw, func() { a.fields(keyFields(k)) })
		},
	}
}

func (a *app) keysGet() *cobra.Command {
	return a.keyCommand("get ID", "Show one API key", "GET", nil)
}

func (a *app) keysRevoke() *cobra.Command {
	return a.keyCommand("revoke ID", "Revoke an API key for good (PATCH --active=false suspends it instead)", "DELETE", nil)
}

func (a *app) keysUpdate() *cobra.Command {
	var f keyFlags
	cmd := a.keyCommand("update ID [flags]", "Change the fields given of an API key", "PATCH", func(cmd *cobra.Command) (any, error) {
		b, err := f.body(cmd, true)
		if err == nil && len(b) == 0 {
			err = exitf(ExitUsage, "nothing to change: give at least one of --name, --tier, --active, --allowed-path, --permission, --admin, --staff, --expires, --no-expiry")
		}
		return b, err
	})
	f.register(cmd)
	return cmd
}

// importResult is the answer to POST /v1/keys:import.
type importResult struct {
	Imported        int    `json:"imported"`
	SnapshotVersion uint64 `json:"snapshot_version"`
}

func (a *app) keysImport() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "import -f FILE",
		Short: "Import pre-hashed keys from JSON Lines, all or nothing (POST /v1/keys:import)",
		Long: `Import keys from another system without their secrets: one JSON object a line, the fields
of keys create plus "sha256" (the hex SHA-256 of the raw key) and an optional "id". The file is
streamed to the server, which stores every key in one transaction and one snapshot version, or
none of them: a refusal lists the problems by line (line[N].field).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var in io.Reader = a.env.Stdin
			if file == "" {
				return exitf(ExitUsage, "-f FILE is required (- for stdin)")
			}
			if file != "-" {
				f, err := os.Open(file)
				if err != nil {
					return exitf(ExitUsage, "%v", err)
				}
				defer f.Close()
				in = f
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			// The server takes up to 5 minutes for the largest imports.
			c.http.Timeout = 6 * time.Minute
			r, err := c.do(cmd.Context(), "POST", "/v1/keys:import", in, "Content-Type", "application/jsonl")
			if err != nil {
				return err
			}
			var res importResult
			if err := json.Unmarshal(r.body, &res); err != nil {
				return exitf(ExitAPI, "POST /v1/keys:import: the answer is not the JSON expected: %v", err)
			}
			return a.emit(r.body, func() {
				a.fields([][2]string{{"imported", strconv.Itoa(res.Imported)}, {"snapshot_version", strconv.FormatUint(res.SnapshotVersion, 10)}})
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "JSON Lines file of keys (- for stdin)")
	return cmd
}
