package plugin

import (
	"errors"
	"strconv"

	"github.com/portcullis/portcullis/shared/engine"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// sharedReplay is the engine's replay store over proxy-wasm shared data, which every worker
// VM of the plugin's vm_id sees: a delivery accepted on one worker is a replay on all others.
//
// Shared data entries cannot be deleted, so the table is the engine's fixed one: one entry per
// bucket ("portcullis.replay.<n>", engine.ReplayBuckets of them, engine.ReplayBucketBytes
// each), written with compare-and-swap. A lost race re-reads and retries, at most
// replayCASRetries times; then, or when the host refuses a write, the delivery is refused as
// replay_unrecorded rather than let through unrecorded.
type sharedReplay struct{}

const (
	replayKeyPrefix  = "portcullis.replay."
	replayCASRetries = 8
	// replayCreateCAS creates a bucket: a write with a non-zero cas to a key that does not
	// exist succeeds, and to one another VM created meanwhile fails with CasMismatch (unless
	// its cas happens to be this value), so two workers never both create the same bucket.
	replayCreateCAS = ^uint32(0)
)

func (sharedReplay) Remember(fp engine.Fingerprint, now, expires int64) engine.ReplayResult {
	key := replayKeyPrefix + strconv.Itoa(engine.ReplayBucket(fp))
	for range replayCASRetries {
		data, cas, err := proxywasm.GetSharedData(key)
		switch {
		case errors.Is(err, types.ErrorStatusNotFound):
			data, cas = nil, replayCreateCAS
		case err != nil:
			proxywasm.LogErrorf("portcullis: reading the replay table: %v", err)
			return engine.ReplayUnrecorded
		}
		next, res := engine.ReplayRecord(data, fp, now, expires)
		if res != engine.ReplayFresh {
			return res
		}
		err = proxywasm.SetSharedData(key, next, cas)
		switch {
		case err == nil:
			return engine.ReplayFresh
		case !errors.Is(err, types.ErrorStatusCasMismatch):
			proxywasm.LogErrorf("portcullis: writing the replay table: %v", err)
			return engine.ReplayUnrecorded
		}
	}
	return engine.ReplayUnrecorded
}
