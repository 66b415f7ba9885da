package wasmhost

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
)

// MetricKind is a proxy-wasm metric type.
type MetricKind int

const (
	Counter   MetricKind = 0
	Gauge     MetricKind = 1
	Histogram MetricKind = 2
)

func (k MetricKind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Histogram:
		return "histogram"
	}
	return "unknown"
}

// Metric is a snapshot of one metric. Metrics are aggregated by name across VMs, as Envoy
// aggregates stats by name.
type Metric struct {
	Name string
	Kind MetricKind
	// Value of a counter or gauge.
	Value int64
	// Count, Sum and Buckets of a histogram. Buckets are cumulative counts of values at or
	// below each bound (Envoy's default histogram buckets).
	Count, Sum uint64
	Buckets    []Bucket
}

// Bucket is a histogram bucket.
type Bucket struct {
	UpperBound float64
	Count      uint64
}

// histogramBounds are Envoy's default histogram bucket bounds.
var histogramBounds = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// metrics is the host-wide registry. A metric id is its index shifted left by two with the
// kind in the low bits, like Envoy's, so the kind is known from the id alone.
type metrics struct {
	mu     sync.RWMutex
	byName map[string]uint32
	list   []*metric
}

type metric struct {
	name  string
	kind  MetricKind
	value atomic.Int64
	hmu   sync.Mutex
	count uint64
	sum   uint64
	hist  []uint64
}

const maxMetrics = 1 << 16

func newMetrics() *metrics { return &metrics{byName: map[string]uint32{}} }

// define returns the id of name, creating it on first use. A name already defined with another
// kind is BadArgument: one name is one series.
func (r *metrics) define(kind MetricKind, name string) (uint32, status) {
	if kind < Counter || kind > Histogram || name == "" {
		return 0, statusBadArgument
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.byName[name]; ok {
		if MetricKind(id&3) != kind {
			return 0, statusBadArgument
		}
		return id, statusOK
	}
	if len(r.list) >= maxMetrics {
		return 0, statusInternalFailure
	}
	m := &metric{name: name, kind: kind}
	if kind == Histogram {
		m.hist = make([]uint64, len(histogramBounds))
	}
	id := uint32(len(r.list))<<2 | uint32(kind)
	r.list = append(r.list, m)
	r.byName[name] = id
	return id, statusOK
}

func (r *metrics) lookup(id uint32) *metric {
	r.mu.RLock()
	defer r.mu.RUnlock()
	i := int(id >> 2)
	if i >= len(r.list) || uint32(r.list[i].kind) != id&3 {
		return nil
	}
	return r.list[i]
}

// increment follows Envoy: counters only go up, gauges both ways, histograms are recorded.
func (r *metrics) increment(id uint32, offset int64) status {
	m := r.lookup(id)
	switch {
	case m == nil:
		return statusNotFound
	case m.kind == Counter && offset <= 0, m.kind == Histogram:
		return statusBadArgument
	}
	m.value.Add(offset)
	return statusOK
}

// record adds to a counter, sets a gauge, observes a histogram value.
func (r *metrics) record(id uint32, value uint64) status {
	m := r.lookup(id)
	if m == nil {
		return statusNotFound
	}
	switch m.kind {
	case Counter:
		m.value.Add(int64(value))
	case Gauge:
		m.value.Store(int64(value))
	case Histogram:
		m.hmu.Lock()
		m.count++
		m.sum += value
		for i, b := range histogramBounds {
			if float64(value) <= b {
				m.hist[i]++
			}
		}
		m.hmu.Unlock()
	}
	return statusOK
}

func (r *metrics) get(id uint32) (uint64, status) {
	m := r.lookup(id)
	switch {
	case m == nil:
		return 0, statusNotFound
	case m.kind == Histogram:
		return 0, statusBadArgument
	}
	return uint64(m.value.Load()), statusOK
}

func (r *metrics) snapshot() []Metric {
	r.mu.RLock()
	list := append([]*metric(nil), r.list...)
	r.mu.RUnlock()
	out := make([]Metric, 0, len(list))
	for _, m := range list {
		s := Metric{Name: m.name, Kind: m.kind, Value: m.value.Load()}
		if m.kind == Histogram {
			m.hmu.Lock()
			s.Count, s.Sum = m.count, m.sum
			for i, b := range histogramBounds {
				s.Buckets = append(s.Buckets, Bucket{UpperBound: b, Count: m.hist[i]})
			}
			m.hmu.Unlock()
			s.Buckets = append(s.Buckets, Bucket{UpperBound: math.Inf(1), Count: s.Count})
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func hostDefineMetric(v *vm, s []uint64) status {
	name, ok := v.readString(u32(s, 1), u32(s, 2))
	if !ok {
		return statusInvalidMemoryAccess
	}
	id, st := v.host.metrics.define(MetricKind(u32(s, 0)), name)
	if st != statusOK {
		return st
	}
	if !v.writeU32(u32(s, 3), id) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

func hostIncrementMetric(v *vm, s []uint64) status {
	return v.host.metrics.increment(u32(s, 0), int64(s[1]))
}

func hostRecordMetric(v *vm, s []uint64) status {
	return v.host.metrics.record(u32(s, 0), s[1])
}

func hostGetMetric(v *vm, s []uint64) status {
	value, st := v.host.metrics.get(u32(s, 0))
	if st != statusOK {
		return st
	}
	if !v.writeU64(u32(s, 1), value) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}
