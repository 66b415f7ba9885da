package envoyconfig

import (
	"errors"
	"fmt"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	wasmfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/portcullis/portcullis/filter/config"
)

// RootID is the root_id that identifies a Portcullis Wasm filter in an Envoy configuration.
const RootID = "portcullis"

// Plugin is one Portcullis Wasm filter of a bootstrap, with its plugin configuration parsed.
type Plugin struct {
	// Path locates the filter in the document, for messages.
	Path string
	// HCM is the HTTP connection manager whose http_filters hold the plugin.
	HCM *hcmv3.HttpConnectionManager
	// Index is the plugin's position in HCM.HttpFilters.
	Index int
	// Wasm is the filter's typed_config.
	Wasm *wasmfilterv3.Wasm
	// Config is the plugin configuration as the filter will read it in OnPluginStart.
	Config config.Config
}

// Plugins returns every Wasm HTTP filter with root_id RootID in b's static listeners. Each must
// fail closed, carry its plugin configuration as a google.protobuf.StringValue that
// config.Parse accepts (so the filter will start), and name only defined clusters.
func Plugins(b *bootstrapv3.Bootstrap) ([]Plugin, error) {
	clusters := map[string]bool{}
	for _, c := range b.GetStaticResources().GetClusters() {
		clusters[c.GetName()] = true
	}
	var out []Plugin
	var errs []error
	for _, h := range connectionManagers(b) {
		for i, f := range h.hcm.GetHttpFilters() {
			w := &wasmfilterv3.Wasm{}
			if !f.GetTypedConfig().MessageIs(w) || f.GetTypedConfig().UnmarshalTo(w) != nil ||
				w.GetConfig().GetRootId() != RootID {
				continue
			}
			p := Plugin{Path: fmt.Sprintf("%s.http_filters[%d]", h.path, i), HCM: h.hcm, Index: i, Wasm: w}
			cfg, err := pluginConfig(w.GetConfig(), clusters)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): %w", p.Path, f.GetName(), err))
				continue
			}
			p.Config = cfg
			out = append(out, p)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func pluginConfig(pc *wasmv3.PluginConfig, clusters map[string]bool) (config.Config, error) {
	// fail_open is deprecated in newer protos, but it is what Envoy 1.33 understands, and
	// failure_policy is what newer Envoy reads: neither may let requests through unchecked.
	if pc.GetFailOpen() || pc.GetFailurePolicy() == wasmv3.FailurePolicy_FAIL_OPEN {
		return config.Config{}, errors.New("config: the filter fails open; a security filter must fail closed (fail_open: false)")
	}
	if pc.GetConfiguration() == nil {
		return config.Config{}, errors.New("config.configuration: required: the filter does not start without a policy")
	}
	s := &wrapperspb.StringValue{}
	if !pc.GetConfiguration().MessageIs(s) {
		return config.Config{}, fmt.Errorf("config.configuration: is %s, want google.protobuf.StringValue holding the JSON", pc.GetConfiguration().GetTypeUrl())
	}
	if err := pc.GetConfiguration().UnmarshalTo(s); err != nil {
		return config.Config{}, fmt.Errorf("config.configuration: %w", err)
	}
	cfg, err := config.ParseEnv([]byte(s.GetValue()), vmEnvironment(pc.GetVmConfig()))
	if err != nil {
		return config.Config{}, fmt.Errorf("config.configuration (plugin configuration): %w", err)
	}
	if c := cfg.Control; c != nil && !clusters[c.Cluster] {
		return config.Config{}, fmt.Errorf("config.configuration (plugin configuration): control.cluster: %q is not a cluster of this bootstrap", c.Cluster)
	}
	return cfg, nil
}

// vmEnvironment is what the VM's environment will hold, as far as the bootstrap says:
// environment_variables.key_values as given, host_env_keys with a placeholder (their values
// come from Envoy's own environment at start). A control.token_env the VM config does not pass
// in is then an error here, as it would be when Envoy starts the filter.
func vmEnvironment(vm *wasmv3.VmConfig) func(string) (string, bool) {
	ev := vm.GetEnvironmentVariables()
	return func(name string) (string, bool) {
		if v, ok := ev.GetKeyValues()[name]; ok {
			return v, true
		}
		for _, k := range ev.GetHostEnvKeys() {
			if k == name {
				return "<from Envoy's environment>", true
			}
		}
		return "", false
	}
}
