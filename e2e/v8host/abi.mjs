// The proxy-wasm ABI 0.2 values this host exchanges with the guest, and the map serialization.
// They mirror e2e/wasmhost/abi.go and pairs.go, which mirror proxy-wasm-cpp-host, so a status the
// guest sees here is the one Envoy (and the wazero host) would return.
//
// Strings in this host are "binary" strings: one character per byte (latin1), so lengths are
// byte lengths and no byte is changed on its way through.

export const Status = Object.freeze({
  OK: 0,
  NotFound: 1,
  BadArgument: 2,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  InternalFailure: 10,
  Unimplemented: 12,
});

export const MapType = Object.freeze({
  RequestHeaders: 0,
  RequestTrailers: 1,
  ResponseHeaders: 2,
  ResponseTrailers: 3,
  GrpcInitialMetadata: 4,
  GrpcTrailingMetadata: 5,
  HttpCallHeaders: 6,
  HttpCallTrailers: 7,
});

export const BufferType = Object.freeze({
  RequestBody: 0,
  ResponseBody: 1,
  DownstreamData: 2,
  UpstreamData: 3,
  HttpCallBody: 4,
  GrpcReceive: 5,
  VMConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
});

export const StreamType = Object.freeze({ Request: 0, Response: 1, Downstream: 2, Upstream: 3 });

// The plugin's root context in every VM; stream contexts count up from the next id.
export const ROOT_CONTEXT_ID = 1;

// serializePairs writes the proxy-wasm map format: a little-endian uint32 count, then count
// pairs of uint32 key and value sizes, then each key and value followed by a NUL byte.
export function serializePairs(pairs) {
  let size = 4;
  for (const [k, v] of pairs) size += 8 + k.length + v.length + 2;
  const out = Buffer.alloc(size); // zero-filled: the NUL terminators are already there
  out.writeUInt32LE(pairs.length, 0);
  let at = 4;
  for (const [k, v] of pairs) {
    out.writeUInt32LE(k.length, at);
    out.writeUInt32LE(v.length, at + 4);
    at += 8;
  }
  for (const [k, v] of pairs) {
    out.write(k, at, 'latin1');
    at += k.length + 1;
    out.write(v, at, 'latin1');
    at += v.length + 1;
  }
  return out;
}

// parsePairs decodes the map format, or returns null when the input does not add up (rather
// than guessing). Empty input is an empty map.
export function parsePairs(bytes) {
  if (bytes.length === 0) return [];
  if (bytes.length < 4) return null;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const n = b.readUInt32LE(0);
  // Every pair needs 8 size bytes and 2 NULs, which bounds n by the input before allocating.
  if (n > Math.floor((b.length - 4) / 10)) return null;
  let data = 4 + 8 * n;
  const out = [];
  for (let i = 0; i < n; i++) {
    const k = b.readUInt32LE(4 + 8 * i);
    const v = b.readUInt32LE(8 + 8 * i);
    if (data + k + 1 + v + 1 > b.length) return null;
    const key = b.toString('latin1', data, data + k);
    data += k + 1;
    const value = b.toString('latin1', data, data + v);
    data += v + 1;
    out.push([key, value]);
  }
  return out;
}
