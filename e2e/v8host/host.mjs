// A proxy-wasm host on V8 (Node.js), for running a compiled filter the way Envoy's V8 runtime
// does and comparing what it decides with the wazero host (e2e/wasmhost). It reads one JSON
// document on stdin — the module, its configuration and a list of exchanges — runs every
// exchange through one VM in order, and writes one JSON document on stdout. v8host.go is the Go
// side of this protocol; everything that crosses it as bytes (headers, bodies, configuration)
// is base64, so no byte is changed on the way. Nothing here depends on what the exchanges are:
// a new scenario needs no change in this file.
//
//   node host.mjs < exchanges.json > outcomes.json
import { readFileSync } from 'node:fs';
import { Clock, Metrics, Queues, SharedData } from './state.mjs';
import { Stream } from './stream.mjs';
import { VM, describe } from './vm.mjs';

const bytes = (b64) => Buffer.from(b64 ?? '', 'base64');
const text = (b64) => bytes(b64).toString('latin1');
const b64 = (s) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s).toString('base64');
const pairsIn = (pairs) => (pairs ?? []).map(([k, v]) => [text(k), text(v)]);
const pairsOut = (pairs) => (pairs === null || pairs === undefined ? null : pairs.map(([k, v]) => [b64(k), b64(v)]));

// Host holds what the VMs share and the options, as e2e/wasmhost's Host does.
class Host {
  constructor(input) {
    this.opts = {
      pluginConfig: bytes(input.plugin_config),
      vmConfig: bytes(input.vm_config),
      pluginName: input.plugin_name ?? '',
      rootID: input.root_id ?? '',
      vmID: input.vm_id ?? '',
      bufferLimit: input.buffer_limit > 0 ? input.buffer_limit : 1 << 20,
    };
    this.clock = new Clock(input.clock_ns);
    this.shared = new SharedData();
    this.queues = new Queues();
    this.metrics = new Metrics();
    this.logs = []; // the current exchange's log lines
  }

  log(level, msg) {
    this.logs.push(`${level}: ${msg}`);
    process.stderr.write(`v8host ${level}: ${msg}\n`);
  }
}

// feed gives one side of an exchange to the stream (headers, then each body chunk) and collects
// what the filter let through. Input stops once the stream was answered locally or reset.
function feed(onHeaders, onBody, headers, chunks) {
  let r = onHeaders(headers, chunks.length === 0);
  const side = { headers: r.headers ?? null, body: [r.body ?? Buffer.alloc(0)] };
  chunks.forEach((chunk, i) => {
    if (r.action === 'local-response' || r.action === 'reset') return;
    r = onBody(chunk, i === chunks.length - 1);
    if (r.headers) side.headers = r.headers;
    side.body.push(r.body ?? Buffer.alloc(0));
  });
  return { action: r.action, headers: pairsOut(side.headers), body: b64(Buffer.concat(side.body)) };
}

// runExchange sends one request through a new stream and, when the filter lets it through to the
// upstream, the upstream's response back through the same stream.
function runExchange(host, vm, ex) {
  host.logs = [];
  const info = {
    source: ex.info?.source ?? '',
    destination: ex.info?.destination ?? '',
    protocol: ex.info?.protocol ?? '',
    connection_id: ex.info?.connection_id ?? 0,
  };
  const s = new Stream(vm, info);
  const out = { request: null, response: null, local: null, reset: '' };
  out.request = feed((h, eos) => s.requestHeaders(h, eos), (c, eos) => s.requestBody(c, eos),
    pairsIn(ex.request), (ex.request_body ?? []).map(bytes));
  const response = pairsIn(ex.response);
  if (out.request.action === 'continue' && response.length > 0) {
    out.response = feed((h, eos) => s.responseHeaders(h, eos), (c, eos) => s.responseBody(c, eos),
      response, (ex.response_body ?? []).map(bytes));
  }
  if (s.local) {
    const l = s.local;
    out.local = { status: l.status, headers: pairsOut(l.headers), body: b64(l.body), details: l.details };
  }
  out.reset = s.resetErr ?? '';
  s.finish();
  out.logs = host.logs;
  return out;
}

function main() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 18) return { error: `Node.js ${process.versions.node} is too old: the V8 host needs 18 or later` };
  const input = JSON.parse(readFileSync(0, 'utf8'));
  const host = new Host(input);
  let vm;
  try {
    const module = new WebAssembly.Module(readFileSync(input.module));
    vm = new VM(host, module);
    vm.start();
  } catch (err) {
    return { error: `starting ${input.module} on V8: ${err.message}`, logs: host.logs };
  }
  const outcomes = (input.exchanges ?? []).map((ex) => runExchange(host, vm, ex));
  host.logs = [];
  vm.close();
  return {
    outcomes,
    metrics: host.metrics.snapshot(),
    tick_period_ms: vm.tickPeriodMs,
    vm_failed: vm.failed ? describe(vm.failed) : '',
    v8: process.versions.v8,
    logs: host.logs,
  };
}

const result = main();
process.stdout.write(JSON.stringify(result));
process.exitCode = result.error ? 1 : 0;
