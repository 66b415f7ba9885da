package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/control/admin"
	"github.com/portcullis/portcullis/shared/snapshot"
)

// Client calls the control server's admin API as an operator would, over HTTP with a bearer
// admin token. It covers what make run and the end-to-end tests need.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client // nil means a client with a 10 s timeout
}

// NewKey is the body of POST /v1/keys.
type NewKey struct {
	Name         string     `json:"name"`
	AllowedPaths []string   `json:"allowed_paths,omitempty"`
	Permissions  []string   `json:"permissions,omitempty"`
	Admin        bool       `json:"admin,omitempty"`
	Staff        bool       `json:"staff,omitempty"`
	Tier         string     `json:"tier,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
}

// CreatedKey is the answer to POST /v1/keys: the key's view and, only here, the raw key.
type CreatedKey struct {
	admin.KeyView
	Key string `json:"key"`
}

// CreateKey creates an API key; version is the snapshot version that publishes it.
func (c *Client) CreateKey(ctx context.Context, in NewKey) (k CreatedKey, version uint64, err error) {
	h, err := c.Do(ctx, http.MethodPost, "/v1/keys", in, &k, http.StatusCreated)
	if err != nil {
		return k, 0, err
	}
	version, err = strconv.ParseUint(h.Get(snapshot.VersionHeader), 10, 64)
	if err != nil {
		return k, 0, fmt.Errorf("POST /v1/keys: no snapshot version in the answer: %w", err)
	}
	return k, version, nil
}

// PatchKey changes the fields of a key that patch gives (the body of PATCH /v1/keys/{id});
// version is the snapshot version that publishes the change, 0 when nothing changed.
func (c *Client) PatchKey(ctx context.Context, id string, patch map[string]any) (k admin.KeyView, version uint64, err error) {
	h, err := c.Do(ctx, http.MethodPatch, "/v1/keys/"+url.PathEscape(id), patch, &k, http.StatusOK)
	if err != nil {
		return k, 0, err
	}
	if v := h.Get(snapshot.VersionHeader); v != "" {
		if version, err = strconv.ParseUint(v, 10, 64); err != nil {
			return k, 0, fmt.Errorf("PATCH /v1/keys/%s: snapshot version %q: %w", id, v, err)
		}
	}
	return k, version, nil
}

// Key reads one key.
func (c *Client) Key(ctx context.Context, id string) (k admin.KeyView, err error) {
	_, err = c.Do(ctx, http.MethodGet, "/v1/keys/"+url.PathEscape(id), nil, &k, http.StatusOK)
	return k, err
}

// Keys lists every key, following the pages.
func (c *Client) Keys(ctx context.Context) ([]admin.KeyView, error) {
	var all []admin.KeyView
	path := "/v1/keys?limit=100"
	for {
		var page struct {
			Keys       []admin.KeyView `json:"keys"`
			NextCursor *string         `json:"next_cursor"`
		}
		if _, err := c.Do(ctx, http.MethodGet, path, nil, &page, http.StatusOK); err != nil {
			return nil, err
		}
		all = append(all, page.Keys...)
		if page.NextCursor == nil {
			return all, nil
		}
		path = "/v1/keys?limit=100&cursor=" + url.QueryEscape(*page.NextCursor)
	}
}

// RevokeKey revokes a key.
func (c *Client) RevokeKey(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/v1/keys/"+url.PathEscape(id), nil, nil, http.StatusOK)
	return err
}

// Do sends one request with a JSON body (if in is not nil) and decodes a JSON answer into out
// (if not nil). An answer other than want is an error carrying the server's error body.
func (c *Client) Do(ctx context.Context, method, path string, in, out any, want int) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.Header, err
	}
	if resp.StatusCode != want {
		return resp.Header, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}
