// Host-wide state the VMs share, with the rules of e2e/wasmhost (shareddata.go, queue.go,
// metrics.go), which follow proxy-wasm-cpp-host and Envoy.
import { Status } from './abi.mjs';

// SharedData: each write gets a new cas; a write with a non-zero cas that differs from the
// key's current cas is CasMismatch; cas 0 writes unconditionally; a new key is written whatever
// the cas.
export class SharedData {
  constructor() {
    this.map = new Map(); // key → {data: Buffer, cas}
    this.cas = 1;
    this.bytes = 0;
  }

  get(key) {
    return this.map.get(key);
  }

  set(key, data, cas) {
    const old = this.map.get(key);
    if (old && cas !== 0 && cas !== old.cas) return Status.CasMismatch;
    let grow = data.length - (old ? old.data.length : 0);
    if (!old) grow += key.length;
    if (this.bytes + grow > 256 * 1024 * 1024) return Status.InternalFailure;
    this.bytes += grow;
    this.map.set(key, { data: Buffer.from(data), cas: this.nextCas() });
    return Status.OK;
  }

  // nextCas hands out cas values, skipping 0 (which means "no check") on wrap-around.
  nextCas() {
    const c = this.cas;
    this.cas = (this.cas + 1) >>> 0 || 1;
    return c;
  }
}

// Queues: a name resolves to a token; registering again moves on_queue_ready to the new
// registrant; items come out in order.
export class Queues {
  constructor() {
    this.byName = new Map();
    this.byToken = new Map(); // token → {items, owner}
    this.next = 0;
  }

  register(name, owner) {
    let t = this.byName.get(name);
    if (t === undefined) {
      do this.next = (this.next + 1) >>> 0; while (this.next === 0 || this.byToken.has(this.next));
      t = this.next;
      this.byName.set(name, t);
      this.byToken.set(t, { items: [], owner: null });
    }
    this.byToken.get(t).owner = owner;
    return t;
  }

  enqueue(token, data) {
    const q = this.byToken.get(token);
    if (!q) return { status: Status.NotFound };
    if (q.items.length >= 1 << 16) return { status: Status.InternalFailure };
    q.items.push(Buffer.from(data));
    return { status: Status.OK, owner: q.owner };
  }

  dequeue(token) {
    const q = this.byToken.get(token);
    if (!q) return { status: Status.NotFound };
    if (q.items.length === 0) return { status: Status.Empty };
    return { status: Status.OK, item: q.items.shift() };
  }
}

export const MetricKind = Object.freeze({ Counter: 0, Gauge: 1, Histogram: 2 });

// Envoy's default histogram bucket bounds.
const histogramBounds = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
  300000, 600000, 1800000, 3600000];

const int64 = (v) => BigInt.asIntN(64, v);

// Metrics: aggregated by name; an id is the index shifted left by two with the kind in the low
// bits, like Envoy's. Counters only go up, gauges both ways, histograms are recorded.
export class Metrics {
  constructor() {
    this.byName = new Map();
    this.list = [];
  }

  define(kind, name) {
    if (kind > MetricKind.Histogram || name === '') return { status: Status.BadArgument };
    const id = this.byName.get(name);
    if (id !== undefined) {
      return (id & 3) === kind ? { status: Status.OK, id } : { status: Status.BadArgument };
    }
    if (this.list.length >= 1 << 16) return { status: Status.InternalFailure };
    const m = { name, kind, value: 0n, count: 0n, sum: 0n, hist: histogramBounds.map(() => 0n) };
    const nid = ((this.list.length << 2) | kind) >>> 0;
    this.list.push(m);
    this.byName.set(name, nid);
    return { status: Status.OK, id: nid };
  }

  lookup(id) {
    const m = this.list[id >>> 2];
    return m && m.kind === (id & 3) ? m : undefined;
  }

  increment(id, offset) {
    const m = this.lookup(id);
    if (!m) return Status.NotFound;
    if ((m.kind === MetricKind.Counter && offset <= 0n) || m.kind === MetricKind.Histogram) {
      return Status.BadArgument;
    }
    m.value = int64(m.value + offset);
    return Status.OK;
  }

  record(id, value) {
    const m = this.lookup(id);
    if (!m) return Status.NotFound;
    switch (m.kind) {
      case MetricKind.Counter:
        m.value = int64(m.value + value);
        break;
      case MetricKind.Gauge:
        m.value = int64(value);
        break;
      default:
        m.count = BigInt.asUintN(64, m.count + 1n);
        m.sum = BigInt.asUintN(64, m.sum + value);
        histogramBounds.forEach((b, i) => {
          if (Number(value) <= b) m.hist[i]++;
        });
    }
    return Status.OK;
  }

  get(id) {
    const m = this.lookup(id);
    if (!m) return { status: Status.NotFound };
    if (m.kind === MetricKind.Histogram) return { status: Status.BadArgument };
    return { status: Status.OK, value: BigInt.asUintN(64, m.value) };
  }

  // snapshot lists every metric sorted by name, 64-bit numbers as decimal strings.
  snapshot() {
    return [...this.list]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((m) => ({
        name: m.name,
        kind: m.kind,
        value: m.value.toString(),
        count: m.count.toString(),
        sum: m.sum.toString(),
        buckets: m.kind === MetricKind.Histogram ? m.hist.map(String) : [],
      }));
  }
}

// Clock is the wall clock the guest sees (proxy_get_current_time_nanoseconds, WASI realtime):
// frozen at a given instant, as the wazero host's fake clock is when a test never advances it,
// or the real one.
export class Clock {
  constructor(frozenNs) {
    this.frozen = frozenNs === undefined || frozenNs === '' ? null : BigInt(frozenNs);
  }

  nowNs() {
    if (this.frozen !== null) return this.frozen;
    return BigInt(Date.now()) * 1000000n;
  }
}
