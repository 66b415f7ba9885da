package envoyconfig

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	wasmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/wasm/v3"

	"github.com/portcullis/portcullis/shared/policy"
)

const envoyYAML = "../../envoy.yaml"

// demoKey is the fixture key envoy.yaml's comment documents; its hash is the demo key's sha256.
const demoKey = "pcs_demo_envoy_yaml_not_a_secret_00"

func readEnvoyYAML(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(envoyYAML)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func socket(a *corev3.Address) string {
	sa := a.GetSocketAddress()
	return fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue())
}

// TestEnvoyYAML loads the repository's envoy.yaml and pins the values a user would notice if
// they changed: where Envoy listens, the limits Envoy enforces, how the module is loaded, that
// the filter fails closed and runs first, and the policy it starts with.
func TestEnvoyYAML(t *testing.T) {
	b, plugins, err := Load([]byte(readEnvoyYAML(t)))
	if err != nil {
		t.Fatalf("envoy.yaml: %v", err)
	}

	if got := socket(b.GetAdmin().GetAddress()); got != "127.0.0.1:9901" {
		t.Errorf("admin address = %s, want 127.0.0.1:9901 (loopback only)", got)
	}
	listeners := b.GetStaticResources().GetListeners()
	if len(listeners) != 1 || socket(listeners[0].GetAddress()) != "0.0.0.0:10000" {
		t.Fatalf("listeners = %v, want one on 0.0.0.0:10000", listeners)
	}

	if len(plugins) != 1 {
		t.Fatalf("%d Portcullis filters, want 1", len(plugins))
	}
	p := plugins[0]
	hcm := p.HCM

	t.Run("connection manager limits", func(t *testing.T) {
		opts := hcm.GetCommonHttpProtocolOptions()
		for _, c := range []struct {
			field     string
			got, want any
		}{
			{"stat_prefix set", hcm.GetStatPrefix() != "", true},
			{"codec_type", hcm.GetCodecType(), hcmv3.HttpConnectionManager_AUTO},
			{"max_request_headers_kb", hcm.GetMaxRequestHeadersKb().GetValue(), uint32(60)},
			{"common_http_protocol_options.max_headers_count", opts.GetMaxHeadersCount().GetValue(), uint32(100)},
			{"common_http_protocol_options.headers_with_underscores_action", opts.GetHeadersWithUnderscoresAction(), corev3.HttpProtocolOptions_REJECT_REQUEST},
			{"use_remote_address", hcm.GetUseRemoteAddress().GetValue(), true},
			{"xff_num_trusted_hops", hcm.GetXffNumTrustedHops(), uint32(0)},
			{"normalize_path", hcm.GetNormalizePath().GetValue(), true},
			{"merge_slashes", hcm.GetMergeSlashes(), true},
			{"path_with_escaped_slashes_action", hcm.GetPathWithEscapedSlashesAction(), hcmv3.HttpConnectionManager_REJECT_REQUEST},
		} {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
			}
		}
	})

	t.Run("filter order", func(t *testing.T) {
		filters := hcm.GetHttpFilters()
		if p.Index != 0 {
			t.Errorf("Portcullis is http_filters[%d], want first", p.Index)
		}
		last := filters[len(filters)-1]
		if !last.GetTypedConfig().MessageIs(&routerv3.Router{}) {
			t.Errorf("last http filter is %s (%s), want the router", last.GetName(), last.GetTypedConfig().GetTypeUrl())
		}
	})

	t.Run("wasm filter", func(t *testing.T) {
		pc := p.Wasm.GetConfig()
		vm := pc.GetVmConfig()
		for _, c := range []struct {
			field     string
			got, want any
		}{
			{"config.name", pc.GetName(), "portcullis"},
			{"config.root_id", pc.GetRootId(), "portcullis"},
			{"config.vm_config.vm_id", vm.GetVmId(), "portcullis"},
			{"config.vm_config.runtime", vm.GetRuntime(), "envoy.wasm.runtime.v8"},
			{"config.vm_config.code.local.filename", vm.GetCode().GetLocal().GetFilename(), "build/portcullis.wasm"},
			{"config.fail_open", pc.GetFailOpen(), false},
			// Envoy 1.33 does not know failure_policy; setting it would break the oldest
			// supported Envoy.
			{"config.failure_policy", pc.GetFailurePolicy(), wasmv3.FailurePolicy_UNSPECIFIED},
		} {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
			}
		}
	})

	t.Run("plugin configuration", func(t *testing.T) {
		pol := p.Config.Policy
		if pol == nil {
			t.Fatal("no policy: every request would get 503 policy_unavailable")
		}
		if pol.DefaultAction != policy.ActionDeny {
			t.Errorf("default_action = %q, want deny", pol.DefaultAction)
		}
		var routes []string
		for _, r := range pol.Routes {
			routes = append(routes, fmt.Sprintf("%s:%s", r.Name, r.Auth.Type))
		}
		if got, want := strings.Join(routes, " "), "health:none api:api_key"; got != want {
			t.Errorf("routes = %s, want %s", got, want)
		}
		sum := sha256.Sum256([]byte(demoKey))
		if len(pol.Keys) != 1 || pol.Keys[0].SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("keys = %+v, want only the documented demo key %q (sha256 %x)", pol.Keys, demoKey, sum)
		}
		if c := p.Config.Control; c != nil && c.Cluster != "portcullis_control" {
			t.Errorf("control.cluster = %q, want portcullis_control", c.Cluster)
		}
	})

	t.Run("clusters", func(t *testing.T) {
		addrs := map[string]string{}
		for _, c := range b.GetStaticResources().GetClusters() {
			eps := c.GetLoadAssignment().GetEndpoints()
			if len(eps) == 1 && len(eps[0].GetLbEndpoints()) == 1 {
				addrs[c.GetName()] = socket(eps[0].GetLbEndpoints()[0].GetEndpoint().GetAddress())
			}
		}
		for name, want := range map[string]string{"demo_upstream": "127.0.0.1:8000", "portcullis_control": "127.0.0.1:8081"} {
			if addrs[name] != want {
				t.Errorf("cluster %s at %q, want one endpoint %s", name, addrs[name], want)
			}
		}
		var routed []string
		for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
			for _, r := range vh.GetRoutes() {
				routed = append(routed, routeClusters(r)...)
			}
		}
		if len(routed) != 1 || routed[0] != "demo_upstream" {
			t.Errorf("routes lead to %v, want [demo_upstream] (never to the control server)", routed)
		}
	})
}

// TestEnvoyYAMLRejects proves that the check fails: each case breaks envoy.yaml in one place,
// and Load must reject it with an error that names what is wrong.
func TestEnvoyYAMLRejects(t *testing.T) {
	base := readEnvoyYAML(t)
	tests := []struct {
		name     string
		old, new string
		want     []string
		// nestedOnly: the bootstrap's own ValidateAll passes; only the validation of the
		// message inside a typed_config catches the mistake.
		nestedOnly bool
	}{
		{
			name: "unknown field",
			old:  "use_remote_address: true", new: "use_remote_adress: true",
			want: []string{`unknown field "use_remote_adress"`},
		},
		{
			name: "unknown enum value",
			old:  "headers_with_underscores_action: REJECT_REQUEST", new: "headers_with_underscores_action: REJECT",
			want: []string{"invalid value for enum", "REJECT"},
		},
		{
			name: "unknown typed_config @type",
			old:  "filters.http.router.v3.Router", new: "filters.http.router.v3.Routr",
			want: []string{"envoy.extensions.filters.http.router.v3.Routr"},
		},
		{
			// (An empty vm_config.runtime is valid to Envoy: it picks its first engine. The
			// positive test pins v8.)
			name: "empty wasm module filename",
			old:  "local: { filename: build/portcullis.wasm }", new: `local: { filename: "" }`,
			want:       []string{"typed_config<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.http_filters[0].typed_config<envoy.extensions.filters.http.wasm.v3.Wasm>", "DataSource.Filename: value length must be at least 1"},
			nestedOnly: true,
		},
		{
			name: "header limit above Envoy's maximum",
			old:  "max_request_headers_kb: 60", new: "max_request_headers_kb: 9000",
			want:       []string{"HttpConnectionManager.MaxRequestHeadersKb: value must be inside range (0, 8192]"},
			nestedOnly: true,
		},
		{
			name: "cluster without a name",
			old:  "- name: demo_upstream", new: `- name: ""`,
			want: []string{"Cluster.Name: value length must be at least 1", `route to unknown cluster "demo_upstream"`},
		},
		{
			name: "route to an unknown cluster",
			old:  "route: { cluster: demo_upstream }", new: "route: { cluster: demo_upstrem }",
			want: []string{`virtual host "demo": route to unknown cluster "demo_upstrem"`},
		},
		{
			name: "duplicate cluster name",
			old:  "- name: portcullis_control", new: "- name: demo_upstream",
			want: []string{`static_resources.clusters[1]: duplicate cluster name "demo_upstream"`},
		},
		{
			name: "deprecated field",
			old:  "      connect_timeout: 1s\n      load_assignment:\n        cluster_name: demo_upstream",
			new:  "      connect_timeout: 1s\n      max_requests_per_connection: 1\n      load_assignment:\n        cluster_name: demo_upstream",
			want: []string{"static_resources.clusters[0].max_requests_per_connection: deprecated field"},
		},
		{
			name: "deprecated enum value",
			old:  "admin:\n",
			new:  "dynamic_resources:\n  lds_config:\n    resource_api_version: V2\n    path_config_source: { path: /etc/envoy/lds.yaml }\nadmin:\n",
			want: []string{"dynamic_resources.lds_config.resource_api_version: deprecated value V2"},
		},
		{
			name: "fail_open true",
			old:  "fail_open: false", new: "fail_open: true",
			want: []string{"config.fail_open: deprecated field", "the filter fails open"},
		},
		{
			name: "failure_policy FAIL_OPEN",
			old:  "fail_open: false", new: "failure_policy: FAIL_OPEN",
			want: []string{"http_filters[0] (envoy.filters.http.wasm): config: the filter fails open"},
		},
		{
			name: "plugin configuration not JSON",
			old:  `"policy": {`, new: `policy: {`,
			want: []string{"config.configuration (plugin configuration): invalid JSON"},
		},
		{
			name: "invalid policy",
			old:  `"auth": {"type": "api_key"}`, new: `"auth": {"type": "magic"}`,
			want: []string{"plugin configuration): policy.routes[1].auth.type"},
		},
		{
			// A google.protobuf.Value holding the same string decodes, but Envoy would not pass
			// it to the plugin as the JSON text.
			name: "plugin configuration not a StringValue",
			old:  "type.googleapis.com/google.protobuf.StringValue", new: "type.googleapis.com/google.protobuf.Value",
			want: []string{"config.configuration: is type.googleapis.com/google.protobuf.Value, want google.protobuf.StringValue"},
		},
		{
			name: "control section names an undefined cluster",
			old:  `"policy": {`,
			new:  `"control": {"cluster": "control_plane", "token": "t", "public_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}, "policy": {`,
			want: []string{`control.cluster: "control_plane" is not a cluster of this bootstrap`},
		},
		{
			name: "no Portcullis filter",
			old:  "root_id: portcullis", new: "root_id: other",
			want: []string{`no Wasm HTTP filter with root_id "portcullis"`},
		},
		{
			name: "duplicate YAML key",
			old:  "merge_slashes: true", new: "merge_slashes: true\n                merge_slashes: false",
			want: []string{`mapping key "merge_slashes" already defined`},
		},
		{
			name: "second YAML document",
			old:  "port_value: 8081 }\n", new: "port_value: 8081 }\n---\nadmin: {}\n",
			want: []string{"more than one document"},
		},
		{
			name: "non-string YAML key",
			old:  "admin:\n", new: "1: one\nadmin:\n",
			want: []string{"mapping key 1 is not a string"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := strings.Count(base, tt.old); n != 1 {
				t.Fatalf("envoy.yaml holds %q %d times, want once: update this case", tt.old, n)
			}
			doc := []byte(strings.Replace(base, tt.old, tt.new, 1))
			_, _, err := Load(doc)
			if err == nil {
				t.Fatal("Load accepted the broken envoy.yaml")
			}
			t.Logf("rejected: %v", err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %q:\n%v", w, err)
				}
			}
			if tt.nestedOnly {
				b, err := Decode(doc)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if err := b.ValidateAll(); err != nil {
					t.Errorf("the bootstrap's ValidateAll caught it (%v); the case no longer shows the typed_config walk is needed", err)
				}
			}
		})
	}
}
