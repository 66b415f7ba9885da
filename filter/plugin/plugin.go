package plugin

import (
	"time"

	"github.com/portcullis/portcullis/filter/config"
	"github.com/portcullis/portcullis/shared/engine"
	"github.com/portcullis/portcullis/shared/snapshot"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

type pluginContext struct {
	types.DefaultPluginContext
	engine  *engine.Engine // nil until a policy is known: requests then get 503
	metrics *metrics
	now     func() time.Time

	// Polling the control server (nil control: static mode).
	control *config.Control
	version uint64 // applied snapshot version; 0 for the inline policy
	// issued is when the applied snapshot was issued, by the control server's clock (zero for
	// the inline policy): no request is judged earlier than that (see notBefore).
	issued  time.Time
	polling bool
	// wantFull: the last delta failed, so the next poll asks for a full snapshot.
	wantFull bool
	// pollNonce is the nonce of the poll in flight, which its answer's signed freshness
	// statement must repeat.
	pollNonce string
	inflight  map[string]snapshot.Use // usage riding on the poll in flight
	usage     usage
	fresh     freshness // when the control server last confirmed the policy
	trouble   trouble   // the current run of polls that did not refresh it
	nextPoll  time.Time // polls start no sooner (the tick may run faster than the poll interval)

	limits    limitState // rate-limit tables and this VM's concurrency slots (limits.go)
	ratelimit *config.RateLimitService
}

// OnPluginStart parses and compiles the configuration. Any problem fails the start, so Envoy
// rejects the configuration instead of running a filter with nothing to enforce.
func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("portcullis: reading the plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	cfg, err := config.Parse(data)
	if err != nil {
		proxywasm.LogCriticalf("portcullis: invalid plugin configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.metrics = defineMetrics()
	p.limits.owner = newOwner()
	p.ratelimit = cfg.RateLimit
	tick := 0
	if cfg.Policy != nil {
		eng, err := engine.Compile(cfg.Policy)
		if err != nil {
			proxywasm.LogCriticalf("portcullis: invalid plugin configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
		if msg := checkGlobalConfig(eng, cfg.RateLimit); msg != "" {
			proxywasm.LogCriticalf("portcullis: invalid plugin configuration: %s", msg)
			return types.OnPluginStartStatusFailed
		}
		if err := p.prepare(eng); err != nil {
			proxywasm.LogCriticalf("portcullis: creating the rate-limit tables in shared data: %v", err)
			return types.OnPluginStartStatusFailed
		}
		if eng.UsesConcurrency() {
			tick = renewTickMillis
		}
		p.engine = eng
		proxywasm.LogInfof("portcullis: started with %d routes and %d keys", eng.RouteCount(), eng.KeyCount())
	}
	if cfg.Control != nil {
		p.control = cfg.Control
		// The tick drives polls and the concurrency leases' renewals, so it runs at least
		// every second; polls keep their own interval (OnTick).
		tick = min(cfg.Control.PollIntervalMillis, renewTickMillis)
		interval := time.Duration(cfg.Control.PollIntervalMillis) * time.Millisecond
		window := time.Duration(cfg.Control.FreshnessWindowSeconds) * time.Second
		p.fresh = newFreshness(p.now(), p.engine != nil, interval, window)
		p.fresh.publish(p.now(), p.metrics) // a worker without a policy shows before the first tick
		proxywasm.LogInfof("portcullis: polling cluster %q for policy snapshots", cfg.Control.Cluster)
	}
	if tick > 0 {
		if err := proxywasm.SetTickPeriodMilliSeconds(uint32(tick)); err != nil {
			proxywasm.LogCriticalf("portcullis: setting the tick: %v", err)
			return types.OnPluginStartStatusFailed
		}
	}
	return types.OnPluginStartStatusOK
}

// renewTickMillis is the tick period when concurrency leases need renewing (engine.RenewEvery
// is far longer; the tick only has to come often enough).
const renewTickMillis = 1000

// NewHttpContext binds the request to the policy current at its start, so a policy swap never
// changes the rules halfway through a request.
func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{plugin: p, engine: p.engine, notBefore: p.issued}
}
