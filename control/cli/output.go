package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"
)

// emit prints v (raw JSON bytes or a value) as -o json / -o yaml, or calls table for the
// default human format.
func (a *app) emit(v any, table func()) error {
	switch a.out {
	case "json":
		return a.printJSON(v)
	case "yaml":
		return a.printYAML(v)
	}
	table()
	return nil
}

// asJSON is v as JSON: raw bytes as they are, anything else marshalled.
func asJSON(v any) ([]byte, error) {
	if raw, ok := v.([]byte); ok {
		return raw, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, exitf(ExitAPI, "encode output: %v", err)
	}
	return raw, nil
}

func (a *app) printJSON(v any) error {
	raw, err := asJSON(v)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return exitf(ExitAPI, "the server's answer is not JSON: %v", err)
	}
	b.WriteByte('\n')
	_, err = a.env.Stdout.Write(b.Bytes())
	return err
}

func (a *app) printYAML(v any) error {
	raw, err := asJSON(v)
	if err != nil {
		return err
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return exitf(ExitAPI, "the server's answer is not JSON: %v", err)
	}
	out, err := yaml.Marshal(tree)
	if err != nil {
		return exitf(ExitAPI, "encode output: %v", err)
	}
	_, err = a.env.Stdout.Write(out)
	return err
}

// table prints aligned columns.
func (a *app) table(header []string, rows [][]string) {
	tw := tabwriter.NewWriter(a.env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// fields prints one object as aligned "name: value" lines.
func (a *app) fields(pairs [][2]string) {
	tw := tabwriter.NewWriter(a.env.Stdout, 0, 4, 1, ' ', 0)
	for _, p := range pairs {
		fmt.Fprintf(tw, "%s:\t%s\n", p[0], p[1])
	}
	tw.Flush()
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func fmtList(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, ",")
}

func fmtBool(b bool) string { return strconv.FormatBool(b) }
