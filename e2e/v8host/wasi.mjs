// The WASI subset Envoy >= 1.33 provides (wasi_snapshot_preview1), implemented here rather than
// with node:wasi so that the guest sees exactly what the wazero host gives it: no arguments, no
// environment, no preopened directories, stdout and stderr into the log (stdout of this process
// is the protocol), the wall clock of the host's clock, real randomness. A module importing any
// other WASI function is refused, as Envoy refuses it.
import { randomFillSync } from 'node:crypto';

export const ENVOY_WASI = [
  'args_get', 'args_sizes_get', 'clock_time_get', 'environ_get', 'environ_sizes_get',
  'fd_close', 'fd_fdstat_get', 'fd_fdstat_set_flags', 'fd_prestat_dir_name', 'fd_prestat_get',
  'fd_read', 'fd_seek', 'fd_write', 'path_open', 'poll_oneoff', 'proc_exit', 'random_get',
  'sched_yield',
];

const errno = { SUCCESS: 0, BADF: 8, FAULT: 21, INVAL: 28, SPIPE: 70 };

// ProcExit is thrown by proc_exit: it unwinds the guest, which the VM treats as a trap.
export class ProcExit extends Error {
  constructor(code) {
    super(`proc_exit(${code})`);
    this.code = code;
  }
}

const isStdio = (fd) => fd >= 0 && fd <= 2;

// wasiImports returns the import object for a VM; vm supplies memory access (vm.mem()), the
// clock and the log.
export function wasiImports(vm) {
  const dv = () => new DataView(vm.memory.buffer);
  const inBounds = (ptr, size) => ptr + size <= vm.memory.buffer.byteLength;
  const zeroPair = (a, b) => {
    a >>>= 0;
    b >>>= 0;
    if (!inBounds(a, 4) || !inBounds(b, 4)) return errno.FAULT;
    dv().setUint32(a, 0, true);
    dv().setUint32(b, 0, true);
    return errno.SUCCESS;
  };
  const now = (id) => {
    if (id === 0) return vm.host.clock.nowNs();
    if (id === 1) return process.hrtime.bigint();
    return null;
  };
  return {
    args_sizes_get: zeroPair,
    args_get: () => errno.SUCCESS,
    environ_sizes_get: zeroPair,
    environ_get: () => errno.SUCCESS,

    clock_time_get(id, _precision, ptr) {
      ptr >>>= 0;
      const t = now(id >>> 0);
      if (t === null) return errno.INVAL;
      if (!inBounds(ptr, 8)) return errno.FAULT;
      dv().setBigUint64(ptr, t, true);
      return errno.SUCCESS;
    },

    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      [iovs, iovsLen, nwrittenPtr] = [iovs >>> 0, iovsLen >>> 0, nwrittenPtr >>> 0];
      if (fd !== 1 && fd !== 2) return errno.BADF;
      if (!inBounds(iovs, 8 * iovsLen) || !inBounds(nwrittenPtr, 4)) return errno.FAULT;
      const view = dv();
      let n = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = view.getUint32(iovs + 8 * i, true);
        const len = view.getUint32(iovs + 8 * i + 4, true);
        if (!inBounds(ptr, len)) return errno.FAULT;
        vm.stdio(fd, Buffer.from(vm.memory.buffer, ptr, len));
        n += len;
      }
      view.setUint32(nwrittenPtr, n, true);
      return errno.SUCCESS;
    },

    // stdin is empty (end of file at once); there are no other files.
    fd_read(fd, _iovs, _iovsLen, nreadPtr) {
      nreadPtr >>>= 0;
      if (fd !== 0) return errno.BADF;
      if (!inBounds(nreadPtr, 4)) return errno.FAULT;
      dv().setUint32(nreadPtr, 0, true);
      return errno.SUCCESS;
    },
    fd_close: (fd) => (isStdio(fd) ? errno.SUCCESS : errno.BADF),
    fd_seek: (fd) => (isStdio(fd) ? errno.SPIPE : errno.BADF),
    fd_fdstat_get(fd, ptr) {
      ptr >>>= 0;
      if (!isStdio(fd)) return errno.BADF;
      if (!inBounds(ptr, 24)) return errno.FAULT;
      const view = dv();
      view.setUint8(ptr, 2); // character device
      view.setUint16(ptr + 2, 0, true);
      view.setBigUint64(ptr + 8, 0xffffffffffffffffn, true);
      view.setBigUint64(ptr + 16, 0xffffffffffffffffn, true);
      return errno.SUCCESS;
    },
    fd_fdstat_set_flags: (fd) => (isStdio(fd) ? errno.SUCCESS : errno.BADF),
    // No preopened directories: the first fd_prestat_get ends the guest's search for them.
    fd_prestat_get: () => errno.BADF,
    fd_prestat_dir_name: () => errno.BADF,
    path_open: () => errno.BADF,

    // poll_oneoff serves the guest's sleeps (clock subscriptions) by blocking this thread, and
    // reports every fd subscription ready, since stdio never blocks here.
    poll_oneoff(inPtr, outPtr, nsubs, neventsPtr) {
      [inPtr, outPtr, nsubs, neventsPtr] = [inPtr >>> 0, outPtr >>> 0, nsubs >>> 0, neventsPtr >>> 0];
      if (nsubs === 0) return errno.INVAL;
      if (!inBounds(inPtr, 48 * nsubs) || !inBounds(outPtr, 32 * nsubs) || !inBounds(neventsPtr, 4)) {
        return errno.FAULT;
      }
      const view = dv();
      const clocks = [];
      const ready = [];
      for (let i = 0; i < nsubs; i++) {
        const at = inPtr + 48 * i;
        const sub = { userdata: view.getBigUint64(at, true), tag: view.getUint8(at + 8) };
        if (sub.tag === 0) {
          const id = view.getUint32(at + 16, true);
          let ns = view.getBigUint64(at + 24, true);
          if (view.getUint16(at + 40, true) & 1) { // absolute time
            const t = now(id) ?? 0n;
            ns = ns > t ? ns - t : 0n;
          }
          clocks.push({ ...sub, ns });
        } else {
          ready.push(sub);
        }
      }
      let events = ready;
      if (events.length === 0) {
        const wait = clocks.reduce((m, c) => (c.ns < m ? c.ns : m), clocks[0].ns);
        sleep(wait);
        events = clocks.filter((c) => c.ns === wait);
      }
      events.forEach((e, i) => {
        const at = outPtr + 32 * i;
        for (let j = 0; j < 32; j++) view.setUint8(at + j, 0);
        view.setBigUint64(at, e.userdata, true);
        view.setUint8(at + 10, e.tag);
      });
      view.setUint32(neventsPtr, events.length, true);
      return errno.SUCCESS;
    },

    proc_exit(code) {
      throw new ProcExit(code >>> 0);
    },

    random_get(ptr, len) {
      [ptr, len] = [ptr >>> 0, len >>> 0];
      if (!inBounds(ptr, len)) return errno.FAULT;
      randomFillSync(new Uint8Array(vm.memory.buffer, ptr, len));
      return errno.SUCCESS;
    },

    sched_yield: () => errno.SUCCESS,
  };
}

function sleep(ns) {
  const ms = Number(ns / 1000000n);
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
