package engine

import "github.com/portcullis/portcullis/shared/policy"

// PutKey exposes putKey to the benchmarks of package engine_test.
func PutKey(e *Engine, k *policy.Key) error { return e.putKey(k) }
