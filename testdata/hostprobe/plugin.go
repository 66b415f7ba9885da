package main

import (
	"strconv"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

const (
	counterKey = "probe_counter" // the shared-data counter of the "count" action
	queueName  = "probe_queue"
)

type pluginContext struct {
	types.DefaultPluginContext
	requests, ticks, queueItems, casRetries, done proxywasm.MetricCounter
	inflight                                      proxywasm.MetricGauge
	bodyBytes                                     proxywasm.MetricHistogram
	hmacSink                                      []byte // keeps the "hmac" action's result live
}

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		return types.OnPluginStartStatusFailed
	}
	cfg := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			cfg[k] = v
		}
	}
	if cfg["fail"] != "" {
		proxywasm.LogCritical("probe: plugin configuration asks to fail")
		return types.OnPluginStartStatusFailed
	}
	p.requests = proxywasm.DefineCounterMetric("probe_requests")
	p.ticks = proxywasm.DefineCounterMetric("probe_ticks")
	p.queueItems = proxywasm.DefineCounterMetric("probe_queue_items")
	p.casRetries = proxywasm.DefineCounterMetric("probe_cas_retries")
	p.done = proxywasm.DefineCounterMetric("probe_streams_done")
	p.inflight = proxywasm.DefineGaugeMetric("probe_inflight")
	p.bodyBytes = proxywasm.DefineHistogramMetric("probe_request_body_bytes")

	// VMs start one after another, so initializing the counter here cannot race.
	if _, _, err := proxywasm.GetSharedData(counterKey); err == types.ErrorStatusNotFound {
		if err := proxywasm.SetSharedData(counterKey, []byte("0"), 0); err != nil {
			return types.OnPluginStartStatusFailed
		}
	}
	if _, err := proxywasm.RegisterSharedQueue(queueName); err != nil {
		return types.OnPluginStartStatusFailed
	}
	if ms, err := strconv.Atoi(cfg["tick_ms"]); err == nil && ms > 0 {
		if err := proxywasm.SetTickPeriodMilliSeconds(uint32(ms)); err != nil {
			return types.OnPluginStartStatusFailed
		}
	}
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) OnTick() { p.ticks.Increment(1) }

// OnQueueReady drains the queue; the host delivers it to the VM that registered the queue last.
func (p *pluginContext) OnQueueReady(id uint32) {
	for i := 0; i < 1000; i++ {
		if _, err := proxywasm.DequeueSharedQueue(id); err != nil {
			return
		}
		p.queueItems.Increment(1)
	}
}

func (p *pluginContext) NewHttpContext(id uint32) types.HttpContext {
	return &httpContext{plugin: p, id: id}
}
