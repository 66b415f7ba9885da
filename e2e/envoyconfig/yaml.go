package envoyconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// yamlToJSON converts one YAML document to JSON, as Envoy does before it decodes a bootstrap
// into protos. It refuses what JSON cannot say or what would be silently dropped: a second
// document, a non-string mapping key. Duplicate keys are already an error in yaml.v3.
func yamlToJSON(doc []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("yaml: empty document")
		}
		return nil, err // yaml.v3 errors start with "yaml: " and give the line
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("yaml: more than one document; Envoy reads only the first")
	}
	if err := stringKeys(v, ""); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// stringKeys checks that every mapping key is a string: yaml.v3 decodes such a mapping to
// map[string]any, and any other key (`1: x`, `true: x`) to map[any]any, which JSON cannot hold.
func stringKeys(v any, path string) error {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if err := stringKeys(e, join(path, k)); err != nil {
				return err
			}
		}
	case map[any]any:
		for k := range v {
			if _, ok := k.(string); !ok {
				return fmt.Errorf("yaml: %s: mapping key %v is not a string", orRoot(path), k)
			}
		}
	case []any:
		for i, e := range v {
			if err := stringKeys(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
