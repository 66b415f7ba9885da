package wasmhost

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"time"
)

// Options configure a Host. The zero value is usable: GOMAXPROCS workers, no configuration,
// the real clock, the default logger.
type Options struct {
	// Workers is the number of VMs; 0 means runtime.GOMAXPROCS(0), like Envoy's --concurrency.
	Workers int
	// VMConfig and PluginConfig are what the filter reads with GetVMConfiguration and
	// GetPluginConfiguration. The plugin configuration is readable only inside
	// proxy_on_configure, as in Envoy.
	VMConfig, PluginConfig []byte
	// PluginName, RootID and VMID are reported through the plugin_name, plugin_root_id and
	// plugin_vm_id properties. Shared data and queues are scoped to VMID.
	PluginName, RootID, VMID string

	// Clusters maps the cluster names a filter passes to proxy_http_call to base URLs
	// ("http://127.0.0.1:9000"); the call's :path is appended. An unknown cluster is
	// BadArgument at dispatch, as in Envoy.
	Clusters map[string]string
	// HTTPClient sends http_calls; nil means a client of its own.
	HTTPClient *http.Client

	// Clock drives ticks, http_call timeouts, reload backoff and the filter's wall clock;
	// nil means RealClock().
	Clock Clock
	// Logger receives proxy_log, the module's stdout (info) and stderr (error), and host
	// events; nil means slog.Default().
	Logger *slog.Logger

	// BufferLimit bounds the body data held for the filter per stream side (Envoy's
	// per_connection_buffer_limit_bytes); 0 means 1 MiB, Envoy's default.
	BufferLimit int
	// MaxCallResponseBytes bounds an http_call's response body; a longer one fails the call
	// (Envoy's async client buffers the whole response, bounded by the cluster's buffer
	// settings). 0 means 64 MiB; a policy of 1,000,000 keys is a 113 MB snapshot.
	MaxCallResponseBytes int
	// ReloadOnTrap recreates a VM that trapped (Envoy's failure_policy FAIL_RELOAD). Until
	// then, and without it, every stream on that VM gets 503.
	ReloadOnTrap bool
	// ReloadBackoff is the wait before the first reload; each further failure doubles it up
	// to MaxReloadBackoff. 0 means 1s and 10×ReloadBackoff.
	ReloadBackoff, MaxReloadBackoff time.Duration

	// CompilationCacheDir keeps wazero's compiled code on disk, so a second host (or process)
	// skips compilation. Empty means no cache.
	CompilationCacheDir string
	// MemoryLimitPages bounds each VM's linear memory in 64 KiB pages; 0 means 8192 (512 MiB).
	MemoryLimitPages uint32
	// CallTimeout, when positive, bounds every callback into the guest; a callback that runs
	// longer traps and fails its VM. Zero means no bound (Envoy has none) and avoids the cost
	// of the check.
	CallTimeout time.Duration

	// Env is the VMs' environment (Envoy's vm_config.environment_variables): what the module
	// reads with environ_get, os.Getenv in Go.
	Env map[string]string

	// StatsTags are the tag extractors that turn stat-name segments into Prometheus labels
	// (Envoy's stats_config.stats_tags); nil means DefaultStatsTags.
	StatsTags []StatsTag

	// Properties, when set, answers proxy_get_property before the built-in properties; info
	// is nil in the root context. Return the value encoded as Envoy encodes it (strings raw,
	// integers as 8-byte little-endian).
	Properties func(info *StreamInfo, path []string) (value []byte, ok bool)
	// ForeignFunctions are reachable through proxy_call_foreign_function; any other name is
	// NotFound.
	ForeignFunctions map[string]func(args []byte) ([]byte, error)
	// HostCall, when set, is called with the VM's index and the import's name before every
	// env.proxy_* call a guest makes (WASI calls are not included): how tests count a filter's
	// host calls per request. It runs on the VM's goroutine with the VM locked, so it must not
	// call back into the host.
	HostCall func(vm int, name string)
}

const (
	defaultMaxCallResponse  = 64 << 20
	defaultBufferLimit      = 1 << 20
	defaultReloadBackoff    = time.Second
	defaultMemoryLimitPages = 8192
)

// withDefaults validates o and fills in the defaults. Misconfiguration fails New, not the first
// request.
func (o Options) withDefaults() (Options, map[string]*url.URL, error) {
	if o.Workers < 0 {
		return o, nil, fmt.Errorf("workers: %d is negative", o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.BufferLimit < 0 {
		return o, nil, fmt.Errorf("buffer limit: %d is negative", o.BufferLimit)
	}
	if o.MaxCallResponseBytes < 0 {
		return o, nil, fmt.Errorf("max call response bytes: %d is negative", o.MaxCallResponseBytes)
	}
	if o.MaxCallResponseBytes == 0 {
		o.MaxCallResponseBytes = defaultMaxCallResponse
	}
	if o.BufferLimit == 0 {
		o.BufferLimit = defaultBufferLimit
	}
	if o.ReloadBackoff < 0 || o.MaxReloadBackoff < 0 {
		return o, nil, errors.New("reload backoff: negative duration")
	}
	if o.ReloadBackoff == 0 {
		o.ReloadBackoff = defaultReloadBackoff
	}
	if o.MaxReloadBackoff == 0 {
		o.MaxReloadBackoff = 10 * o.ReloadBackoff
	}
	if o.MaxReloadBackoff < o.ReloadBackoff {
		return o, nil, fmt.Errorf("max reload backoff %v is below the reload backoff %v", o.MaxReloadBackoff, o.ReloadBackoff)
	}
	if o.MemoryLimitPages == 0 {
		o.MemoryLimitPages = defaultMemoryLimitPages
	}
	if o.MemoryLimitPages > 65536 {
		return o, nil, fmt.Errorf("memory limit: %d pages exceed 4 GiB", o.MemoryLimitPages)
	}
	if o.CallTimeout < 0 {
		return o, nil, fmt.Errorf("call timeout: %v is negative", o.CallTimeout)
	}
	if o.Clock == nil {
		o.Clock = RealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	clusters := make(map[string]*url.URL, len(o.Clusters))
	for name, raw := range o.Clusters {
		u, err := url.Parse(raw)
		if err != nil {
			return o, nil, fmt.Errorf("cluster %q: %w", name, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return o, nil, fmt.Errorf("cluster %q: %q is not an http(s) base URL", name, raw)
		}
		clusters[name] = u
	}
	return o, clusters, nil
}
