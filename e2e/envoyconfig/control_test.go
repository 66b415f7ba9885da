package envoyconfig

import (
	"os"
	"regexp"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const envoyControlYAML = "../../envoy-control.yaml"

// gatewayDefaultPorts are the local gateway's and make run's default ports (gateway :8080,
// control server :8081, gateway admin :9901): Envoy beside them must not take them.
var gatewayDefaultPorts = map[uint32]bool{8080: true, 8081: true, 9901: true}

// TestEnvoyControlYAML loads envoy-control.yaml and pins what the control mode needs: the
// filter polls the control cluster over TLS with SNI and a CA, the token is not in the plugin
// configuration but reaches the VM from Envoy's environment, the module is verified by
// SHA-256, the cluster's timeouts and circuit breakers fit one long poll per worker, and the
// listener and admin ports leave the gateway's defaults free.
func TestEnvoyControlYAML(t *testing.T) {
	data, err := os.ReadFile(envoyControlYAML)
	if err != nil {
		t.Fatal(err)
	}
	b, plugins, err := Load(data)
	if err != nil {
		t.Fatalf("envoy-control.yaml: %v", err)
	}
	if len(plugins) != 1 {
		t.Fatalf("%d Portcullis filters, want 1", len(plugins))
	}
	p := plugins[0]
	ctl := p.Config.Control
	if ctl == nil {
		t.Fatal("no control section: this file is the control mode")
	}
	vm := p.Wasm.GetConfig().GetVmConfig()

	t.Run("token outside the plugin configuration", func(t *testing.T) {
		raw := p.Wasm.GetConfig().GetConfiguration().String()
		if ctl.TokenEnv == "" || strings.Contains(raw, `"token"`) {
			t.Errorf("the plugin configuration holds the token (token_env %q)", ctl.TokenEnv)
		}
		found := false
		for _, k := range vm.GetEnvironmentVariables().GetHostEnvKeys() {
			found = found || k == ctl.TokenEnv
		}
		if !found {
			t.Errorf("vm_config.environment_variables.host_env_keys does not pass %s into the VM", ctl.TokenEnv)
		}
	})

	t.Run("module verified by sha256", func(t *testing.T) {
		remote := vm.GetCode().GetRemote()
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(remote.GetSha256()) {
			t.Errorf("code.remote.sha256 = %q, want 64 hex digits", remote.GetSha256())
		}
		if !strings.HasPrefix(remote.GetHttpUri().GetUri(), "https://") {
			t.Errorf("the module is fetched from %q, want https", remote.GetHttpUri().GetUri())
		}
	})

	clusters := map[string]*clusterv3.Cluster{}
	for _, c := range b.GetStaticResources().GetClusters() {
		clusters[c.GetName()] = c
	}
	c := clusters[ctl.Cluster]
	if c == nil {
		t.Fatalf("no cluster %q", ctl.Cluster)
	}

	t.Run("control cluster TLS", func(t *testing.T) {
		tls := &tlsv3.UpstreamTlsContext{}
		if err := c.GetTransportSocket().GetTypedConfig().UnmarshalTo(tls); err != nil {
			t.Fatalf("transport_socket: %v", err)
		}
		if tls.GetSni() == "" || tls.GetSni() != ctl.Authority {
			t.Errorf("sni %q, want the poll's authority %q", tls.GetSni(), ctl.Authority)
		}
		v := tls.GetCommonTlsContext().GetValidationContext()
		if v.GetTrustedCa().GetFilename() == "" {
			t.Error("no trusted_ca: any certificate would do")
		}
		sans := v.GetMatchTypedSubjectAltNames()
		if len(sans) != 1 || sans[0].GetMatcher().GetExact() != tls.GetSni() {
			t.Errorf("subject alt names %v, want exactly %q", sans, tls.GetSni())
		}
	})

	t.Run("sized for one long poll per worker", func(t *testing.T) {
		if ctl.TimeoutMillis <= ctl.WaitSeconds*1000 {
			t.Errorf("timeout_ms %d does not exceed the held poll (%d s)", ctl.TimeoutMillis, ctl.WaitSeconds)
		}
		th := c.GetCircuitBreakers().GetThresholds()
		if len(th) != 1 {
			t.Fatalf("circuit breaker thresholds %v, want one set", th)
		}
		const workers = 32 // the file's comment: covers up to 32 workers, twice over
		for name, v := range map[string]*wrapperspb.UInt32Value{"max_connections": th[0].GetMaxConnections(),
			"max_requests": th[0].GetMaxRequests(), "max_pending_requests": th[0].GetMaxPendingRequests()} {
			if v.GetValue() < 2*workers {
				t.Errorf("%s = %d, want at least %d", name, v.GetValue(), 2*workers)
			}
		}
		opts := &httpv3.HttpProtocolOptions{}
		if err := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].UnmarshalTo(opts); err != nil {
			t.Fatal(err)
		}
		if idle := opts.GetCommonHttpProtocolOptions().GetIdleTimeout().AsDuration().Seconds(); idle <= float64(ctl.WaitSeconds) {
			t.Errorf("idle_timeout %vs would close a connection under a held poll (%d s)", idle, ctl.WaitSeconds)
		}
		if c.GetConnectTimeout().AsDuration().Milliseconds() >= int64(ctl.TimeoutMillis) {
			t.Error("connect_timeout is not below the poll's timeout")
		}
	})

	t.Run("ports", func(t *testing.T) {
		ports := []uint32{b.GetAdmin().GetAddress().GetSocketAddress().GetPortValue()}
		for _, l := range b.GetStaticResources().GetListeners() {
			ports = append(ports, l.GetAddress().GetSocketAddress().GetPortValue())
		}
		for _, port := range ports {
			if gatewayDefaultPorts[port] {
				t.Errorf("port %d is a default of the local gateway", port)
			}
		}
		if socket(b.GetAdmin().GetAddress()) != "127.0.0.1:9902" {
			t.Errorf("admin at %s, want 127.0.0.1:9902 (loopback, beside the gateway)", socket(b.GetAdmin().GetAddress()))
		}
	})
}
