package envoyconfig

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/portcullis/portcullis/filter/config"
)

// wasmPlugin is the part of Istio's WasmPlugin resource the example must get right.
type wasmPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		URL          string `json:"url"`
		SHA256       string `json:"sha256"`
		Phase        string `json:"phase"`
		FailStrategy string `json:"failStrategy"`
		VMConfig     struct {
			Env []struct {
				Name, Value, ValueFrom string
			} `json:"env"`
		} `json:"vmConfig"`
		PluginConfig json.RawMessage `json:"pluginConfig"`
	} `json:"spec"`
}

// The Istio example loads the OCI image, fails closed, and its plugin configuration parses
// with the token taken from the proxy's environment, which vmConfig passes in.
func TestIstioWasmPluginExample(t *testing.T) {
	data, err := os.ReadFile("../../docs/istio/wasmplugin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js, err := yamlToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	var wp wasmPlugin
	if err := json.Unmarshal(js, &wp); err != nil {
		t.Fatal(err)
	}
	s := wp.Spec
	if wp.Kind != "WasmPlugin" || wp.APIVersion != "extensions.istio.io/v1alpha1" {
		t.Errorf("kind %s %s", wp.APIVersion, wp.Kind)
	}
	if len(s.URL) < 6 || s.URL[:6] != "oci://" || len(s.SHA256) != 64 {
		t.Errorf("url %q sha256 %q, want an oci:// image pinned by its digest", s.URL, s.SHA256)
	}
	if s.FailStrategy != "FAIL_CLOSE" || s.Phase != "AUTHN" {
		t.Errorf("failStrategy %q phase %q, want FAIL_CLOSE and AUTHN", s.FailStrategy, s.Phase)
	}
	env := map[string]string{}
	for _, e := range s.VMConfig.Env {
		if e.ValueFrom == "HOST" {
			env[e.Name] = "<from the proxy's environment>"
		} else {
			env[e.Name] = e.Value
		}
	}
	cfg, err := config.ParseEnv(s.PluginConfig, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("pluginConfig: %v", err)
	}
	if cfg.Control == nil || cfg.Control.TokenEnv == "" {
		t.Fatalf("pluginConfig: want a control section with token_env, got %+v", cfg.Control)
	}
}
