// Stream is one HTTP request and its response on one VM, driven the way
// e2e/wasmhost/stream.go and flow.go drive it: each side is fed in order (headers, then body
// chunks, the end of stream on the last), the filter's callbacks run, and what it released is
// collected. Trailers are not modelled.
import { HeaderMap } from './headers.mjs';

const EMPTY = Buffer.alloc(0);

// Side is the request or the response as Envoy's filter manager sees it for this one filter:
// what came in, what the filter has seen, what it holds, and what it released that the caller
// has not collected yet.
class Side {
  constructor(response) {
    this.response = response;
    this.headers = new HeaderMap();
    this.body = EMPTY; // held data: buffered by the filter, or waiting behind paused headers
    this.received = 0;
    this.headersIn = false;
    this.eosIn = false;
    this.eosAtHeaders = false;
    this.headersSeen = false;
    this.bodyPending = false; // data or end of stream the filter has not seen yet
    this.headersHeld = false; // Pause on headers: the whole side stops
    this.buffering = false; // Pause on a body callback: held data is buffered and visible
    this.headersReleased = false;
    this.continueRequested = false;
    this.outHeaders = null;
    this.outBody = null;
    this.outEOS = false;
    this.eosCollected = false;
  }

  holding() {
    return this.headersHeld || this.buffering;
  }
}

export const localReply = (status, details, body, headers) => ({ status, details, body, headers });

// touch records that the callback in progress asked something of stream s.
export function touch(frame, s) {
  frame.touched ??= [];
  if (!frame.touched.includes(s)) frame.touched.push(s);
}

// settle acts on what the filter asked for during a callback, for every stream it touched:
// a local response, a reset, or continuing a paused side.
export function settle(frame) {
  for (const s of frame.touched ?? []) {
    if (s.done) {
      s.pendingLocal = null;
      s.resetRequested = null;
      continue;
    }
    const lr = s.pendingLocal;
    if (lr) {
      s.pendingLocal = null;
      if (!s.replying && !s.ended()) s.sendLocal(lr);
    }
    const err = s.resetRequested;
    if (err) {
      s.resetRequested = null;
      s.resetWith(err);
    }
    for (const d of [s.req, s.resp]) {
      if (d.continueRequested && !s.ended()) {
        d.continueRequested = false;
        s.resume(d);
      }
    }
  }
}

const HEADERS = 0;
const BODY = 1;

export class Stream {
  constructor(vm, info) {
    this.vm = vm;
    this.info = info;
    this.start = vm.host.clock.nowNs();
    this.id = vm.newStreamID();
    this.created = false;
    this.done = false;
    this.req = new Side(false);
    this.resp = new Side(true);
    this.pendingLocal = null; // asked for by the filter, sent after its callback
    this.resetRequested = null;
    this.local = null; // the final local response, once sent
    this.resetErr = null;
    this.replying = false; // the local reply runs through the response callbacks
    this.properties = new Map();
  }

  requestHeaders(pairs, eos) {
    return this.op(() => this.headers(this.req, pairs, eos));
  }

  requestBody(chunk, eos) {
    return this.op(() => this.body(this.req, chunk, eos));
  }

  responseHeaders(pairs, eos) {
    return this.op(() => this.headers(this.resp, pairs, eos));
  }

  responseBody(chunk, eos) {
    return this.op(() => this.body(this.resp, chunk, eos));
  }

  // finish ends the stream: proxy_on_log, proxy_on_done and proxy_on_delete run, as Envoy runs
  // them when a stream is destroyed.
  finish() {
    const vm = this.vm;
    if (this.done) return;
    this.done = true;
    if (!this.created) return;
    vm.streams.delete(this.id);
    if (vm.failed) return;
    const ex = vm.exports;
    if (ex.proxy_on_log) vm.call('proxy_on_log', { stream: this, logPhase: true }, this.id);
    if (ex.proxy_on_done) vm.call('proxy_on_done', { stream: this }, this.id);
    if (ex.proxy_on_delete) vm.call('proxy_on_delete', { stream: this }, this.id);
    vm.runAfter();
  }

  // op runs one input operation and then the work its callbacks deferred.
  op(fn) {
    const r = fn();
    this.vm.runAfter();
    return r;
  }

  ended() {
    return this.local !== null || this.resetErr !== null;
  }

  headers(d, pairs, eos) {
    if (!this.usable()) return this.drain(d);
    if (d.headersIn || this.done) {
      this.resetWith('stream fed out of order');
      return this.drain(d);
    }
    if (!this.create()) return this.drain(d);
    d.headers = new HeaderMap(pairs);
    d.headersIn = true;
    d.eosAtHeaders = eos;
    d.eosIn = eos;
    this.pump(d);
    return this.drain(d);
  }

  body(d, chunk, eos) {
    if (!this.usable()) return this.drain(d);
    if (!d.headersIn || d.eosIn || this.done) {
      this.resetWith('stream fed out of order');
      return this.drain(d);
    }
    d.body = Buffer.concat([d.body, chunk]);
    d.received += chunk.length;
    d.eosIn = eos;
    if (chunk.length > 0 || eos) d.bodyPending = true;
    if (d.holding() && d.body.length > this.vm.host.opts.bufferLimit) {
      // Like Envoy's filter manager, the limit is checked as data joins a buffer, before the
      // filter sees it.
      this.overflow(d);
      return this.drain(d);
    }
    // The filter paused the headers, so it sees nothing of this side until it resumes.
    if (d.headersHeld) return this.drain(d);
    this.pump(d);
    return this.drain(d);
  }

  // usable reports whether the stream can still take input, failing it first if its VM has
  // failed.
  usable() {
    if (!this.ended() && this.vm.failed) this.failStream();
    return !this.ended();
  }

  // create runs proxy_on_context_create on first use, as Envoy does on the first callback.
  create() {
    if (this.created) return true;
    this.created = true;
    this.vm.streams.set(this.id, this);
    return this.vm.call('proxy_on_context_create', { stream: this }, this.id, 1).ok;
  }

  // pump delivers to the filter whatever it may see next on side d, in order, and releases
  // what it lets through.
  pump(d) {
    for (let i = 0; i < 3 && !this.ended(); i++) {
      if (d.headersIn && !d.headersSeen) {
        d.headersSeen = true;
        if (this.callback(d, HEADERS, d.headers.length, d.eosAtHeaders)) {
          this.releaseHeaders(d);
        } else if (!this.ended()) {
          d.headersHeld = true;
          return;
        }
      } else if (d.headersHeld) {
        return;
      } else if (d.bodyPending) {
        d.bodyPending = false;
        if (this.callback(d, BODY, d.body.length, d.eosIn)) {
          d.buffering = false;
          this.releaseBody(d);
        } else if (!this.ended()) {
          d.buffering = true;
          if (d.body.length > this.vm.host.opts.bufferLimit) {
            this.overflow(d);
            return;
          }
        }
      } else {
        return;
      }
    }
  }

  // callback runs one HTTP callback of side d and settles what the filter asked for meanwhile.
  // It reports whether the filter let the data through (continue, or pause followed by its own
  // proxy_continue_stream in the same callback).
  callback(d, stage, n, eos) {
    const name = `proxy_on_${d.response ? 'response' : 'request'}_${stage === HEADERS ? 'headers' : 'body'}`;
    if (!this.vm.exports[name]) return true;
    const frame = { stream: this, bodySide: stage === BODY ? d : null, touched: [] };
    const r = this.vm.call(name, frame, this.id, n, eos ? 1 : 0);
    if (!r.ok) {
      this.usable(); // the VM failed: 503
      return false;
    }
    let cont = r.value === 0;
    if (d.continueRequested) {
      d.continueRequested = false;
      cont = true;
    }
    settle(frame);
    if (this.ended()) return false;
    return cont;
  }

  // resume lets go of what side d holds after the filter called proxy_continue_stream from
  // another callback, and delivers what waited behind it.
  resume(d) {
    if (d.headersHeld) {
      d.headersHeld = false;
      this.releaseHeaders(d);
      this.pump(d);
    } else if (d.buffering) {
      d.buffering = false;
      this.releaseBody(d);
      this.pump(d);
    }
  }

  releaseHeaders(d) {
    d.headersReleased = true;
    d.outHeaders = d.headers.clone();
    if (d.eosAtHeaders) d.outEOS = true;
  }

  releaseBody(d) {
    if (d.body.length > 0) {
      d.outBody = d.outBody === null ? d.body : Buffer.concat([d.outBody, d.body]);
      d.body = EMPTY;
    }
    if (d.eosIn && !d.bodyPending) d.outEOS = true;
  }

  // drain hands the caller what side d released since the last call.
  drain(d) {
    if (this.local) return { action: 'local-response', local: this.local };
    if (this.resetErr) return { action: 'reset', err: this.resetErr };
    const r = { action: 'continue', headers: d.outHeaders, body: d.outBody ?? EMPTY, eos: false };
    if (d.outEOS && !d.eosCollected) {
      r.eos = true;
      d.eosCollected = true;
    }
    d.outHeaders = null;
    d.outBody = null;
    if (d.holding() || d.bodyPending) r.action = 'pause';
    return r;
  }

  // overflow ends a stream whose held data passed the buffer limit, the way Envoy's filter
  // manager does: 413 while the request is processed, 500 on the response before its headers
  // went out, a reset after.
  overflow(d) {
    if (!d.response) {
      this.sendLocal(envoyReply(413, 'request_payload_too_large'));
    } else if (!d.headersReleased) {
      this.sendLocal(envoyReply(500, 'response_payload_too_large'));
    } else {
      this.resetWith('response body above the buffer limit after the response started');
    }
  }

  // sendLocal sends a local response. While the request is being processed it runs through the
  // filter's response callbacks (Envoy encodes local replies through the filter chain), which
  // may edit it; during the response it is sent as is, or the stream is reset when the response
  // headers are already out.
  sendLocal(lr) {
    let headers = new HeaderMap([[':status', String(lr.status)]]);
    for (const [k, v] of lr.headers) headers.add(k, v);
    if (lr.body.length > 0) {
      headers.replace('content-length', String(lr.body.length));
      if (headers.get('content-type') === undefined) headers.add('content-type', 'text/plain');
    }
    let body = lr.body;
    if (this.resp.headersReleased) {
      this.resetWith('local response after the response headers went out');
      return;
    }
    if (!this.resp.headersIn && !this.vm.failed) {
      this.replying = true;
      const d = (this.resp = new Side(true));
      d.headers = headers;
      d.headersIn = true;
      d.eosAtHeaders = lr.body.length === 0;
      d.body = Buffer.from(lr.body);
      d.eosIn = true;
      d.bodyPending = lr.body.length > 0;
      this.pump(d);
      if (this.ended()) return; // the VM failed while the filter saw its reply
      headers = d.headers;
      body = Buffer.concat([d.outBody ?? EMPTY, d.body]);
    }
    let status = lr.status;
    const s = headers.get(':status');
    if (s !== undefined && /^[+-]?\d+$/.test(s)) {
      const n = Number(s);
      if (n >= 200 && n <= 599) status = n;
    }
    this.local = { status, headers: headers.regular(), body, details: lr.details };
  }

  // failStream answers a stream on a failed VM with Envoy's fail-closed reply.
  failStream() {
    if (this.ended()) return;
    this.local = { status: 503, headers: [], body: EMPTY, details: 'wasm_fail_stream' };
  }

  resetWith(err) {
    if (!this.ended()) this.resetErr = err;
  }
}

// envoyReply is the local reply Envoy itself sends, with Envoy's status text as body.
function envoyReply(code, details) {
  const text = { 413: 'Payload Too Large', 500: 'Internal Server Error', 503: 'Service Unavailable' }[code];
  return localReply(code, details, Buffer.from(text ?? String(code)), []);
}
