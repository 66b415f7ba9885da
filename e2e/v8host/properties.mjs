// Properties as Envoy's proxy_get_property encodes them, following e2e/wasmhost/properties.go:
// strings raw, integers 8-byte little-endian, timestamps int64 nanoseconds, booleans one byte,
// maps in the pairs format. Values are binary strings or Buffers; undefined means NotFound.
import { serializePairs } from './abi.mjs';

const int64 = (n) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt.asIntN(64, BigInt(n)));
  return b;
};

// addrPort splits "host:port" / "[v6]:port" as the Go side formats a netip.AddrPort.
function port(addr) {
  const i = addr.lastIndexOf(':');
  return i < 0 ? 0 : Number(addr.slice(i + 1));
}

// property resolves a path (NUL-separated segments): values the filter set on the stream, then
// the plugin's names, then the stream attributes.
export function property(vm, stream, segments) {
  const o = vm.host.opts;
  if (stream && stream.properties.has(segments.join('\0'))) {
    return stream.properties.get(segments.join('\0'));
  }
  const key = segments.join('.');
  switch (key) {
    case 'plugin_name':
      return o.pluginName;
    case 'plugin_root_id':
      return o.rootID;
    case 'plugin_vm_id':
      return o.vmID;
  }
  return stream ? streamProperty(vm, stream, key) : undefined;
}

function streamProperty(vm, s, key) {
  const req = s.req.headers;
  const info = s.info;
  const path = req.get(':path') ?? '';
  const orNone = (ok, v) => (ok ? v : undefined);
  switch (key) {
    case 'source.address':
      return orNone(info.source !== '', info.source);
    case 'source.port':
      return orNone(info.source !== '', int64(port(info.source)));
    case 'destination.address':
      return orNone(info.destination !== '', info.destination);
    case 'destination.port':
      return orNone(info.destination !== '', int64(port(info.destination)));
    case 'connection.id':
      return int64(BigInt(info.connection_id ?? 0));
    case 'connection.mtls':
      return Buffer.from([0]);
    case 'request.path':
      return req.get(':path');
    case 'request.url_path':
      return orNone(s.req.headersIn, path.split('?')[0]);
    case 'request.query': {
      const i = path.indexOf('?');
      return orNone(s.req.headersIn, i < 0 ? '' : path.slice(i + 1));
    }
    case 'request.host':
      return req.get(':authority');
    case 'request.method':
      return req.get(':method');
    case 'request.scheme':
      return req.get(':scheme');
    case 'request.id':
      return req.get('x-request-id');
    case 'request.referer':
      return req.get('referer');
    case 'request.useragent':
      return req.get('user-agent');
    case 'request.protocol':
      return info.protocol || 'HTTP/1.1';
    case 'request.time':
      return int64(s.start);
    case 'request.duration':
      return int64(vm.host.clock.nowNs() - s.start);
    case 'request.size': {
      const cl = req.get('content-length');
      if (cl !== undefined && /^[+-]?\d+$/.test(cl)) {
        const n = BigInt(cl);
        if (n >= -(2n ** 63n) && n < 2n ** 63n) return int64(n);
      }
      return orNone(s.req.headersIn, int64(s.req.received));
    }
    case 'request.headers':
      return orNone(s.req.headersIn, celMap(req));
    case 'response.code': {
      const code = s.resp.headers.get(':status');
      return code !== undefined && /^[+-]?\d+$/.test(code) ? int64(BigInt(code)) : undefined;
    }
    case 'response.headers':
      return orNone(s.resp.headersIn, celMap(s.resp.headers));
    case 'response.code_details':
      if (s.local) return s.local.details;
      return orNone(s.resp.headersIn, 'via_upstream');
  }
  return undefined;
}

// celMap serializes a header map as Envoy serializes a CEL map of headers: one entry per name,
// repeated values joined with commas, pseudo-headers left out.
function celMap(m) {
  const pairs = [];
  const index = new Map();
  for (const [k, v] of m.pairs) {
    if (k.startsWith(':')) continue;
    if (index.has(k)) {
      pairs[index.get(k)][1] += ',' + v;
      continue;
    }
    index.set(k, pairs.length);
    pairs.push([k, v]);
  }
  return serializePairs(pairs);
}
