// The env.proxy_* imports, with the semantics of e2e/wasmhost (hostcalls_*.go, shareddata.go,
// metrics.go, queue.go, properties.go, tick.go). Host functions never throw on guest input: a bad
// pointer or value is a status for the guest. Arguments arrive as signed numbers (i32) or
// BigInts (i64) and are read as unsigned.
import { BufferType, MapType, ROOT_CONTEXT_ID, Status, StreamType, parsePairs, serializePairs } from './abi.mjs';
import { HeaderMap, validName, validValue } from './headers.mjs';
import { property } from './properties.mjs';
import { localReply, touch } from './stream.mjs';

const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'critical'];

export function envImports(vm) {
  const u = (n) => n >>> 0;
  const f = () => vm.frame;
  const currentStream = () => (vm.frame ? vm.frame.stream : null);
  const maps = mapAccess(vm);
  const buffers = bufferAccess(vm);

  // readHeader reads a name and value pair of pointers and validates them.
  const readHeader = (np, ns, vp, vs) => {
    const name = vm.readString(np, ns);
    const value = vm.readString(vp, vs);
    if (name === null || value === null) return { status: Status.InvalidMemoryAccess };
    if (!validName(name) || !validValue(value)) return { status: Status.BadArgument };
    return { status: Status.OK, name, value };
  };

  // editHeader applies edit to a writable map with the header at the given pointers.
  const editHeader = (t, np, ns, vp, vs, edit) => {
    const { map, status } = maps.writable(u(t));
    if (status !== Status.OK) return status;
    const h = readHeader(np, ns, vp, vs);
    if (h.status !== Status.OK) return h.status;
    edit(map, h.name, h.value);
    return Status.OK;
  };

  return {
    proxy_log(level, ptr, size) {
      level = u(level);
      if (level >= logLevels.length) return Status.BadArgument;
      const msg = vm.readString(ptr, size);
      if (msg === null) return Status.InvalidMemoryAccess;
      vm.host.log(logLevels[level], msg, true);
      return Status.OK;
    },
    proxy_get_current_time_nanoseconds(ptr) {
      return vm.writeU64(ptr, vm.host.clock.nowNs()) ? Status.OK : Status.InvalidMemoryAccess;
    },
    // Ticks are recorded, never fired: this host runs no event loop between exchanges.
    proxy_set_tick_period_milliseconds(ms) {
      vm.tickPeriodMs = u(ms);
      return Status.OK;
    },
    proxy_set_effective_context(id) {
      id = u(id);
      if (!f()) return Status.BadArgument;
      if (id === ROOT_CONTEXT_ID) {
        f().stream = null;
        return Status.OK;
      }
      const s = vm.streams.get(id);
      if (!s) return Status.BadArgument;
      f().stream = s;
      return Status.OK;
    },
    // This host never defers a root context's deletion, so there is nothing pending to complete.
    proxy_done: () => Status.NotFound,
    // No foreign functions are registered.
    proxy_call_foreign_function(np, ns, ap, as) {
      if (vm.view(np, ns) === null || vm.view(ap, as) === null) return Status.InvalidMemoryAccess;
      return Status.NotFound;
    },

    proxy_get_property(pp, ps, rp, rs) {
      const raw = vm.readString(pp, ps);
      if (raw === null) return Status.InvalidMemoryAccess;
      const value = property(vm, currentStream(), raw.split('\0'));
      if (value === undefined) return Status.NotFound;
      return vm.copyOut(value, rp, rs);
    },
    proxy_set_property(pp, ps, vp, vs) {
      const path = vm.readString(pp, ps);
      const value = vm.readBytes(vp, vs);
      if (path === null || value === null) return Status.InvalidMemoryAccess;
      const s = currentStream();
      if (!s) return Status.NotFound;
      if (s.properties.size >= 1024) return Status.InternalFailure;
      s.properties.set(path, value);
      return Status.OK;
    },

    // get_header_map_value returns the FIRST value of a repeated header, as Envoy does.
    proxy_get_header_map_value(t, kp, ks, rp, rs) {
      t = u(t);
      if (t > MapType.HttpCallTrailers) return Status.BadArgument;
      const key = vm.readString(kp, ks);
      if (key === null) return Status.InvalidMemoryAccess;
      const { map } = maps.get(t);
      if (!map) return f() && f().logPhase ? Status.NotFound : Status.BadArgument;
      const value = map.get(key);
      if (value === undefined) return Status.NotFound;
      return vm.copyOut(value, rp, rs);
    },
    // get_header_map_pairs serializes the whole map; a map that is not available reads as empty.
    proxy_get_header_map_pairs(t, rp, rs) {
      t = u(t);
      if (t > MapType.HttpCallTrailers) return Status.BadArgument;
      const { map } = maps.get(t);
      if (!map || map.length === 0) return vm.copyOut(Buffer.alloc(0), rp, rs);
      return vm.copyOut(serializePairs(map.pairs), rp, rs);
    },
    proxy_get_header_map_size(t, rp) {
      t = u(t);
      if (t > MapType.HttpCallTrailers) return Status.BadArgument;
      const { map } = maps.get(t);
      if (!map) return Status.BadArgument;
      return vm.writeU32(rp, map.size()) ? Status.OK : Status.InvalidMemoryAccess;
    },
    proxy_set_header_map_pairs(t, mp, ms) {
      const { map, status } = maps.writable(u(t));
      if (status !== Status.OK) return status;
      const raw = vm.view(mp, ms);
      if (raw === null) return Status.InvalidMemoryAccess;
      const pairs = parsePairs(raw);
      if (pairs === null) return Status.BadArgument;
      if (pairs.some(([k, v]) => !validName(k) || !validValue(v))) return Status.BadArgument;
      map.pairs = new HeaderMap(pairs).pairs;
      return Status.OK;
    },
    proxy_add_header_map_value: (t, np, ns, vp, vs) => editHeader(t, np, ns, vp, vs, (m, k, v) => m.add(k, v)),
    proxy_replace_header_map_value: (t, np, ns, vp, vs) => editHeader(t, np, ns, vp, vs, (m, k, v) => m.replace(k, v)),
    proxy_remove_header_map_value(t, np, ns) {
      const { map, status } = maps.writable(u(t));
      if (status !== Status.OK) return status;
      const name = vm.readString(np, ns);
      if (name === null) return Status.InvalidMemoryAccess;
      map.remove(name);
      return Status.OK;
    },

    proxy_get_buffer_bytes: (t, start, length, rp, rs) => buffers.getBytes(u(t), u(start), u(length), rp, rs),
    proxy_get_buffer_status: (t, lp, fp) => buffers.status(u(t), lp, fp),
    proxy_set_buffer_bytes: (t, start, length, dp, ds) => buffers.setBytes(u(t), u(start), u(length), dp, ds),

    // Stream control: like Envoy, the host only records what the filter asked for; the stream
    // acts on it once the callback has returned (settle in stream.mjs).
    proxy_continue_stream(t) {
      t = u(t);
      if (t !== StreamType.Request && t !== StreamType.Response) return Status.BadArgument;
      const s = currentStream();
      if (!s) return Status.OK; // the root context has no stream to continue: Envoy ignores it
      (t === StreamType.Request ? s.req : s.resp).continueRequested = true;
      touch(f(), s);
      return Status.OK;
    },
    proxy_close_stream(t) {
      t = u(t);
      if (t > StreamType.Upstream) return Status.BadArgument;
      const s = currentStream();
      if (!s || t === StreamType.Downstream || t === StreamType.Upstream) return Status.OK;
      if (s.resetRequested === null) s.resetRequested = 'stream closed by the filter';
      touch(f(), s);
      return Status.OK;
    },
    proxy_send_local_response(code, dp, ds, bp, bs, hp, hs /* , grpcStatus */) {
      code = u(code);
      const details = vm.readString(dp, ds);
      const body = vm.readBytes(bp, bs);
      const raw = vm.view(hp, hs);
      if (details === null || body === null || raw === null) return Status.InvalidMemoryAccess;
      if (code < 200 || code > 599) return Status.BadArgument;
      const headers = parsePairs(raw);
      if (headers === null) return Status.BadArgument;
      if (headers.some(([k, v]) => !validName(k) || !validValue(v) || k.startsWith(':'))) return Status.BadArgument;
      const s = currentStream();
      if (!s) return Status.OK; // nothing to answer in the root context; Envoy ignores it as well
      if (s.pendingLocal === null && !s.ended()) {
        // Envoy sanitizes response code details: whitespace becomes '_'.
        s.pendingLocal = localReply(code, details.replace(/[\t\n\v\f\r ]/g, '_'), body, headers);
      }
      touch(f(), s);
      return Status.OK;
    },

    proxy_get_shared_data(kp, ks, rp, rs, cp) {
      const key = vm.readString(kp, ks);
      if (key === null) return Status.InvalidMemoryAccess;
      const val = vm.host.shared.get(key);
      if (!val) return Status.NotFound;
      const st = vm.copyOut(val.data, rp, rs);
      if (st !== Status.OK) return st;
      return vm.writeU32(cp, val.cas) ? Status.OK : Status.InvalidMemoryAccess;
    },
    proxy_set_shared_data(kp, ks, dp, ds, cas) {
      const key = vm.readString(kp, ks);
      const data = vm.view(dp, ds);
      if (key === null || data === null) return Status.InvalidMemoryAccess;
      return vm.host.shared.set(key, data, u(cas));
    },
    proxy_register_shared_queue(np, ns, rp) {
      const name = vm.readString(np, ns);
      if (name === null) return Status.InvalidMemoryAccess;
      return vm.writeU32(rp, vm.host.queues.register(name, vm)) ? Status.OK : Status.InvalidMemoryAccess;
    },
    proxy_resolve_shared_queue(ip, is, np, ns, rp) {
      const vmID = vm.readString(ip, is);
      const name = vm.readString(np, ns);
      if (vmID === null || name === null) return Status.InvalidMemoryAccess;
      if (vmID !== '' && vmID !== vm.host.opts.vmID) return Status.NotFound;
      const t = vm.host.queues.byName.get(name);
      if (t === undefined) return Status.NotFound;
      return vm.writeU32(rp, t) ? Status.OK : Status.InvalidMemoryAccess;
    },
    // enqueue schedules proxy_on_queue_ready on the registering VM for after the callback, since
    // that VM may be the one running it (Envoy posts it to the owner's event loop).
    proxy_enqueue_shared_queue(token, dp, ds) {
      const data = vm.view(dp, ds);
      if (data === null) return Status.InvalidMemoryAccess;
      token = u(token);
      const r = vm.host.queues.enqueue(token, data);
      if (r.status !== Status.OK) return r.status;
      if (r.owner) vm.after.push(() => r.owner.queueReady(token));
      return Status.OK;
    },
    proxy_dequeue_shared_queue(token, rp, rs) {
      const r = vm.host.queues.dequeue(u(token));
      if (r.status !== Status.OK) return r.status;
      return vm.copyOut(r.item, rp, rs);
    },

    // No clusters are configured here: every call is refused at dispatch, as Envoy refuses an
    // unknown cluster (BadArgument).
    proxy_http_call(up, us, hp, hs, bp, bs, tp, ts, _timeout, tokenPtr) {
      const cluster = vm.readString(up, us);
      const headers = vm.view(hp, hs);
      if (cluster === null || headers === null) return Status.InvalidMemoryAccess;
      if (parsePairs(headers) === null) return Status.BadArgument;
      const body = vm.view(bp, bs);
      const trailers = vm.view(tp, ts);
      if (body === null || trailers === null) return Status.InvalidMemoryAccess;
      if (parsePairs(trailers) === null) return Status.BadArgument;
      if (!vm.writeU32(tokenPtr, 0)) return Status.InvalidMemoryAccess;
      return Status.BadArgument;
    },

    proxy_define_metric(kind, np, ns, rp) {
      const name = vm.readString(np, ns);
      if (name === null) return Status.InvalidMemoryAccess;
      const r = vm.host.metrics.define(u(kind), name);
      if (r.status !== Status.OK) return r.status;
      return vm.writeU32(rp, r.id) ? Status.OK : Status.InvalidMemoryAccess;
    },
    proxy_increment_metric: (id, offset) => vm.host.metrics.increment(u(id), BigInt.asIntN(64, offset)),
    proxy_record_metric: (id, value) => vm.host.metrics.record(u(id), BigInt.asUintN(64, value)),
    proxy_get_metric(id, rp) {
      const r = vm.host.metrics.get(u(id));
      if (r.status !== Status.OK) return r.status;
      return vm.writeU64(rp, r.value) ? Status.OK : Status.InvalidMemoryAccess;
    },
  };
}

// mapAccess decides which header map exists in the current callback, as in Envoy: a stream's
// request headers from proxy_on_request_headers until the filter lets them go, read-only in
// proxy_on_log; the http_call response only inside its callback (never, here).
function mapAccess(vm) {
  const get = (t) => {
    const f = vm.frame;
    if (!f || !f.stream) return { map: null };
    if (t === MapType.HttpCallHeaders || t === MapType.HttpCallTrailers) return { map: null };
    const s = f.stream;
    const d = t === MapType.ResponseHeaders || t === MapType.ResponseTrailers ? s.resp : s.req;
    if (t === MapType.RequestHeaders || t === MapType.ResponseHeaders) {
      if (f.logPhase && d.headersIn) return { map: d.headers, writable: false };
      if (d.headersSeen && !d.headersReleased) return { map: d.headers, writable: true };
    } else if (t === MapType.RequestTrailers || t === MapType.ResponseTrailers) {
      if (f.logPhase && d.trailersIn) return { map: d.trailers, writable: false };
      if (d.trailersSeen && !d.trailersReleased) return { map: d.trailers, writable: true };
    }
    return { map: null };
  };
  const writable = (t) => {
    if (t > MapType.HttpCallTrailers) return { status: Status.BadArgument };
    const r = get(t);
    if (!r.map || !r.writable) return { status: Status.BadArgument };
    return { status: Status.OK, map: r.map };
  };
  return { get, writable };
}

// bufferAccess follows Envoy's buffers: a stream body is there during its body callback and
// while the filter buffers it; the plugin configuration only during proxy_on_configure.
function bufferAccess(vm) {
  // find returns {exists, data, writable, set(bytes)}; data null means "not available here".
  const find = (t) => {
    const f = vm.frame;
    if (!f) return { exists: false };
    switch (t) {
      case BufferType.RequestBody:
      case BufferType.ResponseBody: {
        const s = f.stream;
        if (!s) return { exists: true, data: null }; // Envoy hands out an empty buffer outside a stream
        const d = t === BufferType.ResponseBody ? s.resp : s.req;
        if (f.bodySide === d || d.buffering) {
          return { exists: true, data: d.body, writable: true, set: (b) => { d.body = b; } };
        }
        return { exists: true, data: null };
      }
      case BufferType.HttpCallBody:
        return { exists: false };
      case BufferType.VMConfiguration:
        return { exists: true, data: vm.host.opts.vmConfig };
      case BufferType.PluginConfiguration:
        if (f.configuring) return { exists: true, data: vm.host.opts.pluginConfig };
    }
    return { exists: false };
  };
  return {
    // getBytes copies up to length bytes from start: a range past the end is cut short, an
    // empty result writes nothing.
    getBytes(t, start, length, rp, rs) {
      if (t > BufferType.CallData) return Status.BadArgument;
      const b = find(t);
      if (!b.exists) return Status.NotFound;
      if (start + length > 0xffffffff) return Status.BadArgument; // overflow
      const data = b.data ?? Buffer.alloc(0);
      if (start > data.length) return Status.BadArgument;
      const end = Math.min(start + length, data.length);
      if (end === start) return Status.OK;
      return vm.copyOut(data.subarray(start, end), rp, rs);
    },
    status(t, lp, fp) {
      if (t > BufferType.CallData) return Status.BadArgument;
      const b = find(t);
      if (!b.exists) return Status.NotFound;
      const n = b.data ? b.data.length : 0;
      return vm.writeU32(lp, n) && vm.writeU32(fp, 0) ? Status.OK : Status.InvalidMemoryAccess;
    },
    // setBytes follows Envoy's Buffer::copyFrom: start 0 and length 0 prepends, start 0 and a
    // length covering the buffer replaces it, a start at or past the end appends; anything else
    // is BadArgument.
    setBytes(t, start, length, dp, ds) {
      if (t > BufferType.CallData) return Status.BadArgument;
      const b = find(t);
      if (!b.exists) return Status.NotFound;
      if (b.data === null || b.data === undefined || !b.writable) return Status.BadArgument;
      const data = vm.readBytes(dp, ds);
      if (data === null) return Status.InvalidMemoryAccess;
      const cur = b.data;
      if (start === 0 && length === 0) b.set(Buffer.concat([data, cur]));
      else if (start === 0 && length >= cur.length) b.set(data);
      else if (start >= cur.length) b.set(Buffer.concat([cur, data]));
      else return Status.BadArgument;
      return Status.OK;
    },
  };
}
