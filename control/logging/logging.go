// Package logging builds the structured loggers of the control server and the local gateway:
// text (logfmt-like, for people) or JSON (one object a line, for log pipelines), chosen with
// -log-format. The filter inside the VM logs through the host as "portcullis: <event> k=v …";
// Fields lifts those pairs into real attributes, so a JSON log has them as fields too.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// Formats are the values -log-format accepts.
const Formats = "text or json"

// New returns a logger writing format ("text" or "json") at level and above.
func New(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text", "":
		return slog.New(&fields{slog.NewTextHandler(w, opts)}), nil
	case "json":
		return slog.New(&fields{slog.NewJSONHandler(w, opts)}), nil
	}
	return nil, fmt.Errorf("-log-format %q: want %s", format, Formats)
}

// fields is a handler that splits a message of the form "<text> k=v k2=\"quoted\" …" into the
// text and attributes, so the filter's key=value lines render as fields in both formats.
// Messages without trailing pairs pass unchanged.
type fields struct{ slog.Handler }

func (f *fields) Handle(ctx context.Context, r slog.Record) error {
	msg, attrs := Fields(r.Message)
	if len(attrs) == 0 {
		return f.Handler.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	out.AddAttrs(attrs...)
	r.Attrs(func(a slog.Attr) bool { out.AddAttrs(a); return true })
	return f.Handler.Handle(ctx, out)
}

func (f *fields) WithAttrs(as []slog.Attr) slog.Handler { return &fields{f.Handler.WithAttrs(as)} }
func (f *fields) WithGroup(g string) slog.Handler       { return &fields{f.Handler.WithGroup(g)} }

// Fields splits "text k=v k2="q v" …" into the text and the pairs. Values are bare tokens or Go
// quoted strings (the filter quotes any value with spaces, quotes or control bytes). Anything
// that does not parse as pairs to the end leaves the message whole.
func Fields(msg string) (string, []slog.Attr) {
	// The pairs start at the first token of the form key=…, after at least some text.
	start := -1
	for i := 0; i < len(msg); i++ {
		if msg[i] == ' ' && i+1 < len(msg) && isKeyAt(msg[i+1:]) {
			start = i
			break
		}
	}
	if start <= 0 {
		return msg, nil
	}
	var attrs []slog.Attr
	rest := msg[start:]
	for rest != "" {
		if rest[0] != ' ' {
			return msg, nil
		}
		rest = rest[1:]
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || !isKey(rest[:eq]) {
			return msg, nil
		}
		key := rest[:eq]
		rest = rest[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return msg, nil
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			val, rest = rest[:end], rest[end:]
		}
		attrs = append(attrs, slog.String(key, val))
	}
	return msg[:start], attrs
}

func isKeyAt(s string) bool {
	eq := strings.IndexByte(s, '=')
	sp := strings.IndexByte(s, ' ')
	return eq > 0 && (sp < 0 || eq < sp) && isKey(s[:eq])
}

func isKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}
