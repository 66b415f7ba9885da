package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// client calls the admin API.
type client struct {
	conn
	http *http.Client
}

func (a *app) client() (*client, error) {
	c, err := a.resolve()
	if err != nil {
		return nil, err
	}
	return &client{conn: c, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// apiError is the server's JSON error (docs/control-api.md, "Errors").
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
	Code    string `json:"code"`
	Details []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"details"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "server answered %d", e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	for _, d := range e.Details {
		fmt.Fprintf(&b, "\n  %s: %s", d.Field, d.Message)
	}
	return b.String()
}

// exitCode maps a server error to the CLI's exit codes, in this one place.
func (e *apiError) exitCode() int {
	switch e.Status {
	case http.StatusUnprocessableEntity:
		return ExitInvalid
	case http.StatusPreconditionFailed:
		return ExitConflict
	}
	return ExitAPI
}

// response is a successful answer.
type response struct {
	header http.Header
	body   []byte
}

// do sends a request with a JSON body (nil: none; []byte or an io.Reader: sent as given, with
// a Content-Type from headers when it is not JSON) and returns a 2xx answer, or an
// *exitError wrapping the *apiError or the network failure.
func (c *client) do(ctx context.Context, method, path string, body any, headers ...string) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader: // streamed as it is read (an import of a million keys)
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return response{}, exitf(ExitUsage, "encode request: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.addr+path, rd)
	if err != nil {
		return response{}, exitf(ExitUsage, "%v", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, exitf(ExitAPI, "%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return response{}, exitf(ExitAPI, "%s %s: reading the answer: %v", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		ae := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, ae) != nil || ae.Code == "" {
			ae.Message = strings.TrimSpace(string(data))
			if len(ae.Message) > 200 {
				ae.Message = ae.Message[:200] + "…"
			}
		}
		return response{}, &exitError{code: ae.exitCode(), err: ae}
	}
	return response{header: resp.Header, body: data}, nil
}

// call sends a request and and decodes the answer into v.
func (c *client) call(ctx context.Context, method, path string, body, v any) (response, error) {
	r, err := c.do(ctx, method, path, body)
	if err != nil || v == nil || len(r.body) == 0 {
		return r, err
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return r, exitf(ExitAPI, "%s %s: the answer is not the JSON expected: %v", method, path, err)
	}
	return r, nil
}

// request resolves the connection, calls one endpoint and decodes the answer into a T; the
// answer is also returned as received, for -o json.
func request[T any](a *app, cmd *cobra.Command, method, path string, body any) (T, []byte, error) {
	var v T
	c, err := a.client()
	if err != nil {
		return v, nil, err
	}
	r, err := c.call(cmd.Context(), method, path, body, &v)
	return v, r.body, err
}
