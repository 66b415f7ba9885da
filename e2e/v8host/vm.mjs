// VM is one instance of the module on V8: Envoy's per-worker Wasm VM, run the way
// e2e/wasmhost/vm.go runs it (start sequence, callback frames, failure on a trap).
import { ROOT_CONTEXT_ID, Status } from './abi.mjs';
import { envImports } from './hostcalls.mjs';
import { settle } from './stream.mjs';
import { ENVOY_WASI, wasiImports } from './wasi.mjs';

// checkImports refuses a module that imports what Envoy (or this host) does not provide, naming
// the import, as the wazero host does.
export function checkImports(module, env) {
  for (const imp of WebAssembly.Module.imports(module)) {
    const name = `${imp.module}.${imp.name}`;
    if (imp.kind !== 'function') throw new Error(`module imports ${name} (a ${imp.kind}), which this host does not provide`);
    if (imp.module === 'wasi_snapshot_preview1') {
      if (!ENVOY_WASI.includes(imp.name)) throw new Error(`module imports ${name}, which Envoy does not provide`);
    } else if (imp.module !== 'env' || !(imp.name in env)) {
      throw new Error(`module imports ${name}, which this host does not provide`);
    }
  }
}

export class VM {
  constructor(host, module) {
    this.host = host;
    this.failed = null; // the error that failed the VM
    this.frame = null; // the callback in progress
    this.after = []; // work to run after the callback (queue deliveries)
    this.streams = new Map();
    this.nextID = ROOT_CONTEXT_ID;
    this.tickPeriodMs = 0;
    this.stdioBuf = { 1: '', 2: '' };
    const env = envImports(this);
    checkImports(module, env);
    this.instance = new WebAssembly.Instance(module, { env, wasi_snapshot_preview1: wasiImports(this) });
    this.exports = this.instance.exports;
    this.memory = this.exports.memory;
    if (!this.exports.proxy_on_memory_allocate || !this.exports.proxy_on_context_create) {
      throw new Error('module is not a proxy-wasm filter: proxy_on_memory_allocate or proxy_on_context_create is not exported');
    }
  }

  // start runs Envoy's start sequence: _initialize, proxy_on_context_create for the root
  // context, proxy_on_vm_start, proxy_on_configure (the plugin configuration is readable only
  // during the latter).
  start() {
    const o = this.host.opts;
    if (this.exports._initialize) {
      try {
        this.exports._initialize();
      } catch (err) {
        throw new Error(`_initialize: ${describe(err)}`);
      }
    }
    const must = (name, frame, ...args) => {
      const r = this.call(name, frame, ...args);
      if (!r.ok) throw new Error(`${name}: ${describe(this.failed)}`);
      return r.value;
    };
    must('proxy_on_context_create', {}, ROOT_CONTEXT_ID, 0);
    if (this.exports.proxy_on_vm_start && must('proxy_on_vm_start', {}, ROOT_CONTEXT_ID, o.vmConfig.length) === 0) {
      throw new Error('proxy_on_vm_start failed (the filter rejected the VM configuration)');
    }
    if (this.exports.proxy_on_configure &&
        must('proxy_on_configure', { configuring: true }, ROOT_CONTEXT_ID, o.pluginConfig.length) === 0) {
      throw new Error('proxy_on_configure failed (the filter rejected the plugin configuration)');
    }
    this.runAfter();
  }

  // call runs one guest export with frame as the context of its host calls. It reports
  // {ok: false} when the VM has failed, before or during the call; a trap fails the VM.
  call(name, frame, ...args) {
    if (this.failed) return { ok: false };
    const prev = this.frame;
    this.frame = frame;
    let value;
    try {
      value = this.exports[name](...args);
    } catch (err) {
      this.fail(new Error(`${name}: ${describe(err)}`));
    } finally {
      this.frame = prev;
    }
    if (this.failed) return { ok: false };
    return { ok: true, value: value === undefined ? 0 : value >>> 0 };
  }

  // fail marks the VM failed after a trap: like Envoy's fail-closed policy, every stream on it
  // now gets 503.
  fail(err) {
    if (this.failed) return;
    this.failed = err;
    this.host.log('error', `wasm vm failed; its streams answer 503: ${err.message}`);
    for (const s of this.streams.values()) s.failStream();
  }

  // runAfter runs the work the callbacks deferred (bounded, like the wazero host).
  runAfter() {
    for (let i = 0; i < this.after.length; i++) {
      if (i === 10000) {
        this.host.log('error', `wasm host: dropping deferred work: ${this.after.length - i}`);
        break;
      }
      this.after[i]();
    }
    this.after = [];
  }

  // queueReady delivers proxy_on_queue_ready to the root context.
  queueReady(token) {
    if (!this.exports.proxy_on_queue_ready) return;
    const frame = { touched: [] };
    this.call('proxy_on_queue_ready', frame, ROOT_CONTEXT_ID, token);
    settle(frame);
  }

  newStreamID() {
    for (;;) {
      this.nextID = (this.nextID + 1) >>> 0;
      if (this.nextID > ROOT_CONTEXT_ID && !this.streams.has(this.nextID)) return this.nextID;
    }
  }

  // close runs proxy_on_done for the root context.
  close() {
    if (!this.failed && this.exports.proxy_on_done) this.call('proxy_on_done', {}, ROOT_CONTEXT_ID);
  }

  // Guest memory. Every pointer comes from the guest, so every access is bounds-checked and a
  // bad one becomes InvalidMemoryAccess for the guest. Views are taken afresh each time: any
  // call into the guest may grow the memory, which detaches the old buffer.

  view(ptr, size) {
    ptr >>>= 0;
    size >>>= 0;
    if (size === 0) return new Uint8Array(0);
    if (ptr + size > this.memory.buffer.byteLength) return null;
    return new Uint8Array(this.memory.buffer, ptr, size);
  }

  readString(ptr, size) {
    const b = this.view(ptr, size);
    return b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  }

  // readBytes copies guest memory out.
  readBytes(ptr, size) {
    const b = this.view(ptr, size);
    return b === null ? null : Buffer.from(b);
  }

  writeU32(ptr, value) {
    ptr >>>= 0;
    if (ptr + 4 > this.memory.buffer.byteLength) return false;
    new DataView(this.memory.buffer).setUint32(ptr, value >>> 0, true);
    return true;
  }

  writeU64(ptr, value) {
    ptr >>>= 0;
    if (ptr + 8 > this.memory.buffer.byteLength) return false;
    new DataView(this.memory.buffer).setBigUint64(ptr, BigInt.asUintN(64, value), true);
    return true;
  }

  // copyOut hands data (a binary string or bytes) to the guest the way
  // proxy-wasm-cpp-host does: memory from the guest's proxy_on_memory_allocate, its address and
  // size written to ptrPtr and sizePtr. Empty data writes a null pointer and zero size.
  copyOut(data, ptrPtr, sizePtr) {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    let ptr = 0;
    if (bytes.length > 0) {
      ptr = this.allocate(bytes.length);
      if (ptr === null) return Status.InvalidMemoryAccess;
      const dst = this.view(ptr, bytes.length);
      if (dst === null) return Status.InvalidMemoryAccess;
      dst.set(bytes);
    }
    if (!this.writeU32(ptrPtr, ptr) || !this.writeU32(sizePtr, bytes.length)) return Status.InvalidMemoryAccess;
    return Status.OK;
  }

  // allocate re-enters the guest from inside a host call, as proxy-wasm hosts do for every value
  // they return. A trap here fails the VM.
  allocate(size) {
    try {
      return this.exports.proxy_on_memory_allocate(size) >>> 0;
    } catch (err) {
      this.fail(new Error(`proxy_on_memory_allocate: ${describe(err)}`));
      return null;
    }
  }

  // stdio turns the module's stdout (info) and stderr (error) into log lines, as Envoy does.
  stdio(fd, bytes) {
    this.stdioBuf[fd] += bytes.toString('latin1');
    const lines = this.stdioBuf[fd].split('\n');
    this.stdioBuf[fd] = lines.pop();
    for (const line of lines) if (line !== '') this.host.log(fd === 1 ? 'info' : 'error', line);
  }
}

export function describe(err) {
  if (!err) return 'vm failed';
  return err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
}
