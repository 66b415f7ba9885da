#!/usr/bin/env bash
# bench-compare.sh <ref>: the allow path, snapshot apply and memory benchmarks of <ref> and of
# the working tree, run alternately in one session, compared by benchstat. `make bench-compare
# BASE=<ref>` calls it; BENCHMARKS.md ("Comparing two commits") lists the set and how to read it.
#
# <ref> is exported with `git archive` into a temporary directory (the repository's worktrees
# and index are not touched), and its modules and test binaries are built there; the working
# tree is the other side, uncommitted changes included. Each of COUNT rounds runs every
# benchmark once on each side, base first, so load that comes and goes on the machine falls on
# both sides alike. Knobs (environment):
#   COUNT=6           rounds (benchstat wants at least 6 for a confidence interval)
#   BENCHTIME=        go test -benchtime for every benchmark ("" keeps each one's default;
#                     1x for a smoke run)
#   HOST_BENCH, ENGINE_BENCH   space-separated -bench patterns of e2e/wasmhost and
#                     shared/engine, each run separately (a two-level pattern skips the
#                     benchmarks that have no sub-benchmarks)
#   OUT=build/bench-compare    where the raw outputs are kept
set -euo pipefail
set -f # the benchmark patterns are split on spaces, never globbed
cd "$(dirname "$0")/.."

ref=${1:?usage: scripts/bench-compare.sh <git ref>}
rev=$(git rev-parse --verify --quiet "$ref^{commit}") || { echo "bench-compare: $ref is not a commit" >&2; exit 2; }
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-}
HOST_BENCH=${HOST_BENCH:-'^BenchmarkRequest$/^(floor-noop|portcullis-allow|portcullis-deny-unknown-key)$'}
ENGINE_BENCH=${ENGINE_BENCH:-'^BenchmarkDecide$/^(allow|deny-unknown-key)$ ^BenchmarkDecideLargePolicy$ ^BenchmarkApply$/^all-gc-paused$'}
OUT=${OUT:-build/bench-compare}
# benchstat from golang.org/x/perf, pinned; the Go module proxy serves it.
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/base" "$OUT"
git archive "$rev" | tar -x -C "$tmp/base"

# Build each side's modules and test binaries once. The host tests find build/*.wasm next to
# their own sources, so each binary runs its own side's modules.
build() { # build <side> <tree>
	echo "bench-compare: building $1 ($2)" >&2
	make -s -C "$2" wasm-test-modules >/dev/null
	(cd "$2" && go test -c -o "$tmp/$1-host.test" ./e2e/wasmhost && go test -c -o "$tmp/$1-engine.test" ./shared/engine)
}
build base "$tmp/base"
build head "$PWD"

run() { # run <side> <tree>: one round of every benchmark, appended to the side's file
	local args=(-test.run '^$' -test.benchmem -test.count 1)
	[ -n "$BENCHTIME" ] && args+=(-test.benchtime "$BENCHTIME")
	local p
	for p in $HOST_BENCH; do
		(cd "$2/e2e/wasmhost" && "$tmp/$1-host.test" "${args[@]}" -test.bench "$p") >>"$OUT/$1.txt"
	done
	for p in $ENGINE_BENCH; do
		(cd "$2/shared/engine" && "$tmp/$1-engine.test" "${args[@]}" -test.bench "$p") >>"$OUT/$1.txt"
	done
}
: >"$OUT/base.txt"
: >"$OUT/head.txt"
{ echo "# base: $ref ($rev)"; echo "# load before: $(uptime)"; } >>"$OUT/base.txt"
for i in $(seq "$COUNT"); do
	echo "bench-compare: round $i of $COUNT ($(uptime | sed 's/.*load/load/'))" >&2
	run base "$tmp/base"
	run head "$PWD"
done
echo "# load after: $(uptime)" >>"$OUT/head.txt"

grep -q '^Benchmark' "$OUT/base.txt" || { echo "bench-compare: no benchmark ran on $ref" >&2; exit 1; }
grep -q '^Benchmark' "$OUT/head.txt" || { echo "bench-compare: no benchmark ran on the working tree" >&2; exit 1; }
go run "$BENCHSTAT" "base=$OUT/base.txt" "head=$OUT/head.txt"
