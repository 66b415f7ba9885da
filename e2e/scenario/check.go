package scenario

import (
	"fmt"
	"strings"
)

// Outcome is what one leg observed for a request.
type Outcome struct {
	// Status of the local reply, or 0 when the request reached the upstream.
	Status  int
	Body    []byte
	Headers [][2]string // local reply headers
	// Upstream is the request headers as the upstream received them.
	Upstream [][2]string
	// Response is the response headers the client received from the upstream, after the
	// filter's edits (allowed requests).
	Response [][2]string
}

// Check compares an outcome with the scenario's expectations and describes every difference.
func (c *Case) Check(o Outcome) []string {
	var problems []string
	w := c.Want
	if o.Status != w.Status {
		problems = append(problems, fmt.Sprintf("status = %d, want %d (body %s)", o.Status, w.Status, o.Body))
		return problems
	}
	if w.Status != 0 {
		if w.Code != "" {
			want := fmt.Sprintf(`"code":%q`, w.Code)
			if !strings.Contains(string(o.Body), want) {
				problems = append(problems, fmt.Sprintf("body = %s, want it to contain %s", o.Body, want))
			}
			if v := lookup(o.Headers, "content-type"); v != "application/json" {
				problems = append(problems, fmt.Sprintf("content-type = %q, want application/json", v))
			}
		}
		if w.BodyContains != "" && !strings.Contains(string(o.Body), w.BodyContains) {
			problems = append(problems, fmt.Sprintf("body = %s, want it to contain %s", o.Body, w.BodyContains))
		}
		problems = append(problems, exact("reply header", o.Headers, w.Headers, w.HeadersAbsent)...)
		return problems
	}
	problems = append(problems, exact("response header", o.Response, w.Response, w.ResponseAbsent)...)
	for _, hv := range w.Upstream {
		vals := all(o.Upstream, hv[0])
		if len(vals) != 1 || vals[0] != hv[1] {
			problems = append(problems, fmt.Sprintf("upstream header %s = %q, want exactly [%q]", hv[0], vals, hv[1]))
		}
	}
	for _, name := range w.Absent {
		if vals := all(o.Upstream, name); len(vals) > 0 {
			problems = append(problems, fmt.Sprintf("upstream header %s = %q, want it absent", name, vals))
		}
	}
	return problems
}

// exact checks that each wanted header has exactly the wanted value and each absent one is absent.
func exact(what string, got, want [][2]string, absent []string) []string {
	var problems []string
	for _, hv := range want {
		if vals := all(got, hv[0]); len(vals) != 1 || vals[0] != hv[1] {
			problems = append(problems, fmt.Sprintf("%s %s = %q, want exactly [%q]", what, hv[0], vals, hv[1]))
		}
	}
	for _, name := range absent {
		if vals := all(got, name); len(vals) > 0 {
			problems = append(problems, fmt.Sprintf("%s %s = %q, want it absent", what, name, vals))
		}
	}
	return problems
}

func lookup(headers [][2]string, name string) string {
	if v := all(headers, name); len(v) > 0 {
		return v[0]
	}
	return ""
}

func all(headers [][2]string, name string) []string {
	var out []string
	for _, h := range headers {
		if strings.EqualFold(h[0], name) {
			out = append(out, h[1])
		}
	}
	return out
}

// Chunks splits the request body into the scenario's chunks.
func (r *Request) Chunks() [][]byte {
	n := r.BodyChunks
	if n < 1 {
		n = 1
	}
	if len(r.Body) == 0 {
		return nil
	}
	size := (len(r.Body) + n - 1) / n
	var out [][]byte
	for b := r.Body; len(b) > 0; {
		m := min(size, len(b))
		out = append(out, b[:m])
		b = b[m:]
	}
	return out
}

// HeaderPairs returns the request as a proxy presents it: pseudo-headers first.
func (r *Request) HeaderPairs() [][2]string {
	out := [][2]string{{":method", r.Method}, {":authority", r.Authority}, {":path", r.Path}, {":scheme", "http"}}
	return append(out, r.Headers...)
}
