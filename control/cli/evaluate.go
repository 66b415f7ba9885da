package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// evaluation is the part of POST /v1/evaluate's answer the table shows; -o json shows all.
type evaluation struct {
	SnapshotVersion uint64          `json:"snapshot_version"`
	Allow           bool            `json:"allow"`
	Local           bool            `json:"local"`
	Status          int             `json:"status"`
	Code            string          `json:"code"`
	Route           string          `json:"route"`
	KeyID           string          `json:"key_id"`
	Check           string          `json:"check"`
	Body            json.RawMessage `json:"body"`
	Headers         [][2]string     `json:"headers"`
	SetHeaders      [][2]string     `json:"set_headers"`
	ResponseHeaders []struct {
		Action, Name, Value string
	} `json:"response_headers"`
}

func (a *app) evaluateCmd() *cobra.Command {
	var (
		method, path, host, client, origin, keyFile, jwtFile, bodyFile, at string
		headers                                                            []string
	)
	cmd := &cobra.Command{
		Use:   "evaluate --path PATH [flags]",
		Short: "What would the filter do with this request? (exit 1 when it is refused)",
		Long: `evaluate describes a request with flags and asks the server to judge it with the published
snapshot (POST /v1/evaluate). Credentials are read from files (--key-file, --jwt-file; - for stdin), never argv.
Exit 0 when the request would reach the upstream (or be answered as a CORS preflight), 1 when
the filter would refuse it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return exitf(ExitUsage, "--path is required")
			}
			hs := map[string]any{}
			for _, h := range headers {
				name, value, ok := strings.Cut(h, ":")
				if !ok || strings.TrimSpace(name) == "" {
					return exitf(ExitUsage, "-H %q: want \"Name: value\"", h)
				}
				addHeader(hs, strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value))
			}
			if keyFile != "" {
				key, err := a.readSecretArg("key-file", keyFile)
				if err != nil {
					return err
				}
				addHeader(hs, "x-api-key", key)
			}
			if jwtFile != "" {
				tok, err := a.readSecretArg("jwt-file", jwtFile)
				if err != nil {
					return err
				}
				addHeader(hs, "authorization", "Bearer "+tok)
			}
			body := map[string]any{"method": strings.ToUpper(method), "path": path, "headers": hs}
			for k, v := range map[string]string{"host": host, "client_address": client, "origin": origin} {
				if v != "" {
					body[k] = v
				}
			}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return exitf(ExitUsage, "--at: want an RFC 3339 time: %v", err)
				}
				body["at"] = t.UTC().Format(time.RFC3339Nano)
			}
			if bodyFile != "" {
				data, err := os.ReadFile(bodyFile)
				if err != nil {
					return exitf(ExitUsage, "--body-file: %v", err)
				}
				body["body_base64"] = base64.StdEncoding.EncodeToString(data)
			}
			ev, raw, err := request[evaluation](a, cmd, "POST", "/v1/evaluate", body)
			if err != nil {
				return err
			}
			if err := a.emit(raw, func() { a.printEvaluation(ev) }); err != nil {
				return err
			}
			if !ev.Allow && !ev.Local {
				return silent(ExitFindings)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&method, "method", "X", "GET", "HTTP method")
	fl.StringVar(&path, "path", "", "the :path as received, query included")
	fl.StringVar(&host, "host", "", "the :authority (port allowed)")
	fl.StringArrayVarP(&headers, "header", "H", nil, "request header \"Name: value\" (repeatable)")
	fl.StringVar(&keyFile, "key-file", "", "file holding the API key to send as x-api-key (- for stdin)")
	fl.StringVar(&jwtFile, "jwt-file", "", "file holding a JWT to send as Authorization: Bearer (- for stdin)")
	fl.StringVar(&client, "client-address", "", "the connection's source address: ip, ip:port or [ipv6]:port")
	fl.StringVar(&origin, "origin", "", "the Origin header (CORS)")
	fl.StringVar(&bodyFile, "body-file", "", "file holding the request body (webhook signatures)")
	fl.StringVar(&at, "at", "", "RFC 3339 time to judge the request at (default now)")
	return cmd
}

func addHeader(hs map[string]any, name, value string) {
	switch prev := hs[name].(type) {
	case nil:
		hs[name] = value
	case string:
		hs[name] = []string{prev, value}
	case []string:
		hs[name] = append(prev, value)
	}
}

func (a *app) printEvaluation(ev evaluation) {
	verdict := "ALLOW"
	switch {
	case ev.Local:
		verdict = "LOCAL REPLY " + strconv.Itoa(ev.Status)
	case !ev.Allow:
		verdict = "DENY " + strconv.Itoa(ev.Status) + " " + ev.Code
	}
	a.fields([][2]string{{"decision", verdict}, {"route", first(ev.Route, "-")}, {"key_id", first(ev.KeyID, "-")},
		{"check", ev.Check}, {"snapshot_version", strconv.FormatUint(ev.SnapshotVersion, 10)}})
	for _, h := range ev.Headers {
		fmt.Fprintf(a.env.Stdout, "response header: %s: %s\n", h[0], h[1])
	}
	for _, h := range ev.SetHeaders {
		fmt.Fprintf(a.env.Stdout, "upstream header: %s: %s\n", h[0], h[1])
	}
	if len(ev.Body) > 0 {
		fmt.Fprintf(a.env.Stdout, "body: %s\n", ev.Body)
	}
}
