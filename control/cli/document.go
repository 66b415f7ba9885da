package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/portcullis/portcullis/control/checks"
	"github.com/portcullis/portcullis/control/verifier"
	"github.com/portcullis/portcullis/shared/policy"
	"gopkg.in/yaml.v3"
)

// readDocument reads a policy file ("-": stdin) as JSON. A .json file, or one whose first
// character is '{', is passed on byte for byte, so the strict decoder sees duplicate keys;
// anything else is YAML, converted to JSON (yaml.v3 refuses duplicate keys itself).
func (a *app) readDocument(path string) ([]byte, error) {
	var (
		data []byte
		err  error
	)
	if path == "-" {
		data, err = io.ReadAll(a.env.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, exitf(ExitUsage, "%v", err)
	}
	trimmed := bytes.TrimSpace(data)
	if strings.EqualFold(filepath.Ext(path), ".json") || bytes.HasPrefix(trimmed, []byte("{")) {
		return data, nil
	}
	var tree any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		return nil, exitf(ExitInvalid, "%s: %v", path, err)
	}
	out, err := json.Marshal(jsonable(tree))
	if err != nil {
		return nil, exitf(ExitInvalid, "%s: %v", path, err)
	}
	return out, nil
}

// jsonable turns what yaml.v3 decodes into values encoding/json accepts (maps with non-string
// keys become string-keyed).
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonable(e)
		}
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[toString(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = jsonable(e)
		}
	}
	return v
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// stubSecret satisfies the generic preset's secret rules; stub verifiers exist only so routes
// may name the server's verifiers during local validation, and are dropped before anything is
// compared or sent.
const stubSecret = "portcullis-cli-local-validation-only"

// serverShape validates a document meant for PUT /v1/policy the way the server does — the
// filter's one-pass validation, no keys, no webhooks section, routes may name the server's
// verifiers — and returns it normalized exactly as GET /v1/policy shows a stored one, so the
// two compare line by line.
func serverShape(doc []byte, verifiers []string) (normalized []byte, problems []checks.Problem) {
	if verifier.HasSection(doc) {
		problems = append(problems, checks.Problem{Path: "webhooks", Message: "must not be set here: verifiers are managed with /v1/webhooks (portcullis webhooks)"})
	} else {
		doc = withStubVerifiers(doc, verifiers)
	}
	d, err := policy.ParseWith(doc, policy.Options{RefuseKeys: "must not be set here: keys are managed with /v1/keys (portcullis keys)"})
	if err != nil {
		return nil, append(problems, checks.ProblemsOf(err)...)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	d.Keys, d.Webhooks = nil, nil
	out, err := json.Marshal(d)
	if err != nil {
		return nil, []checks.Problem{{Message: err.Error()}}
	}
	return out, nil
}

// withStubVerifiers adds a webhooks section naming the server's verifiers to a JSON object.
// Error paths are structural, so the insertion moves none; a document that is not an object is
// left alone for the parser to refuse.
func withStubVerifiers(doc []byte, names []string) []byte {
	body, ok := bytes.CutPrefix(bytes.TrimSpace(doc), []byte("{"))
	if len(names) == 0 || !ok {
		return doc
	}
	stubs := make([]map[string]string, len(names))
	for i, n := range names {
		stubs[i] = map[string]string{"name": n, "preset": "generic", "secret": stubSecret}
	}
	section, _ := json.Marshal(stubs)
	var b bytes.Buffer
	b.WriteString(`{"webhooks":`)
	b.Write(section)
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("}")) {
		b.WriteByte(',')
	}
	b.Write(body)
	return b.Bytes()
}

// pretty indents JSON for display and diffing.
func pretty(doc []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, bytes.TrimSpace(doc), "", "  ") != nil {
		return string(doc)
	}
	return b.String() + "\n"
}
