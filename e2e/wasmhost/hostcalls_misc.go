package wasmhost

import (
	"context"
	"log/slog"
)

// logLevels maps proxy-wasm log levels (trace … critical) onto slog levels.
var logLevels = [...]slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelError + 4}

func hostLog(v *vm, s []uint64) status {
	level := u32(s, 0)
	if int(level) >= len(logLevels) {
		return statusBadArgument
	}
	msg, ok := v.readString(u32(s, 1), u32(s, 2))
	if !ok {
		return statusInvalidMemoryAccess
	}
	lg := v.host.opts.Logger
	if lg.Enabled(context.Background(), logLevels[level]) {
		lg.Log(context.Background(), logLevels[level], msg, "vm", v.worker.index)
	}
	return statusOK
}

func hostCurrentTime(v *vm, s []uint64) status {
	if !v.writeU64(u32(s, 0), uint64(v.host.opts.Clock.Now().UnixNano())) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// hostSetEffectiveContext switches the context later host calls act on, within the callback in
// progress; an unknown id is BadArgument, as in Envoy.
func hostSetEffectiveContext(v *vm, s []uint64) status {
	id := u32(s, 0)
	if v.frame == nil {
		return statusBadArgument
	}
	if id == rootContextID {
		v.frame.stream = nil
		return statusOK
	}
	st := v.streams[id]
	if st == nil {
		return statusBadArgument
	}
	v.frame.stream = st
	return statusOK
}

// hostDone answers proxy_done: this host never defers a root context's deletion (it does not
// wait after proxy_on_done returns false), so there is nothing pending to complete.
func hostDone(*vm, []uint64) status { return statusNotFound }

func hostCallForeign(v *vm, s []uint64) status {
	name, ok1 := v.readString(u32(s, 0), u32(s, 1))
	args, ok2 := v.view(u32(s, 2), u32(s, 3))
	if !ok1 || !ok2 {
		return statusInvalidMemoryAccess
	}
	fn := v.host.opts.ForeignFunctions[name]
	if fn == nil {
		return statusNotFound
	}
	out, err := fn(append([]byte(nil), args...))
	if err != nil {
		return statusInternalFailure
	}
	return v.copyOut(out, u32(s, 4), u32(s, 5))
}
