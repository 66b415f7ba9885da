# Portcullis build and test entry points. Every target is safe to run on a fresh clone.
GO      ?= go
WASMENV := GOOS=wasip1 GOARCH=wasm
WASMFLAGS := -buildmode=c-shared -trimpath -ldflags='-s -w'

# The production filter, the same filter with test hooks compiled in (panic injection for the
# recovery tests; never shipped), the empty filter that is the benchmark floor, and the probe
# filter that drives every host call of e2e/wasmhost from its tests.
WASM       := build/portcullis.wasm
WASM_HOOKS := build/portcullis-testhooks.wasm
WASM_NOOP  := build/noop.wasm
WASM_PROBE := build/hostprobe.wasm

.PHONY: all build wasm-test-modules test check fuzz bench bench-native bench-wasm bench-compare soak run dist clean

all: build

# go build is incremental, so these always run and are cheap when nothing changed.
build:
	@mkdir -p build
	$(WASMENV) $(GO) build $(WASMFLAGS) -o $(WASM) ./filter

wasm-test-modules: build
	$(WASMENV) $(GO) build $(WASMFLAGS) -tags portcullis_testhooks -o $(WASM_HOOKS) ./filter
	$(WASMENV) $(GO) build $(WASMFLAGS) -o $(WASM_NOOP) ./testdata/noopfilter
	$(WASMENV) $(GO) build $(WASMFLAGS) -o $(WASM_PROBE) ./testdata/hostprobe

# The wasip1 build proves filter/ and shared/ compile for the VM; the wasip1 vet proves the same
# of shared/'s tests, which make bench runs under wazero. The filter's own tests import the SDK's
# emulator, which only builds natively.
test: wasm-test-modules
	$(GO) vet ./...
	$(WASMENV) $(GO) build ./filter/... ./shared/...
	$(WASMENV) $(GO) vet ./shared/...
	$(GO) test -count=1 ./...

check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(WASMENV) $(GO) build ./filter/... ./shared/...
	$(GO) mod tidy
	@git diff --exit-code -- go.mod go.sum || { echo "go mod tidy changed go.mod/go.sum"; exit 1; }

# Native Go fuzzing of every parser of untrusted input, one target after the other (go test
# fuzzes one target per run), FUZZTIME each. make test runs the same targets on their seed
# corpora (testdata/fuzz/FuzzX in each package); a failing input the fuzzer finds is written
# there, so it fails make test until fixed and then stays as a regression case. -timeout=0
# because go test's default 10-minute timeout also ends a long fuzz run; the fuzzer bounds each
# input itself. Go minimizes every new input that adds coverage, up to a minute by default;
# with inputs of kilobytes (snapshots) that ate whole short runs, hence FUZZMINIMIZETIME. Go
# 1.26's coordinator can end a run that found nothing with "context deadline exceeded"
# (go.dev/issue/75804); so a run fails here only when it wrote a failing input.
FUZZTIME ?= 30s
FUZZMINIMIZETIME ?= 5s
FUZZ_TARGETS := \
	./shared/strictjson:FuzzReader \
	./shared/policy:FuzzParse \
	./shared/snapshot:FuzzDecode \
	./shared/keytable:FuzzParse \
	./shared/snapshot:FuzzVerify \
	./shared/snapshot:FuzzVerifySignature \
	./shared/snapshot:FuzzParseUsage \
	./shared/engine:FuzzPath \
	./shared/engine:FuzzCredentials \
	./shared/engine:FuzzJWTToken \
	./filter/config:FuzzParse

fuzz:
	@mkdir -p build; set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; corpus=$$pkg/testdata/fuzz/$$name; \
		before=$$(ls $$corpus 2>/dev/null | wc -l); \
		echo "== $$name in $$pkg for $(FUZZTIME)"; \
		echo 0 > build/fuzz.rc; \
		{ $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) \
			-timeout=0 $$pkg || echo $$? > build/fuzz.rc; } 2>&1 | tee build/fuzz.log; \
		[ "$$(cat build/fuzz.rc)" = 0 ] && continue; \
		if [ "$$(ls $$corpus 2>/dev/null | wc -l)" = "$$before" ] && grep -q 'context deadline exceeded' build/fuzz.log; then \
			echo "   (no failing input written: Go's end-of-fuzztime race, go.dev/issue/75804; not a finding)"; \
			continue; \
		fi; \
		exit 1; \
	done

# Native benchmarks for every package, then the shared/ benchmarks (the engine, snapshot apply,
# the JSON reader) compiled to wasip1 and run under wazero, in the same run, so BENCHMARKS.md
# can state Wasm/native ratios. The wazero CLI is built from the version pinned in go.mod.
WAZERO := build/wazero
WASM_BENCH_PKGS := ./shared/engine ./shared/snapshot ./shared/strictjson

bench: wasm-test-modules bench-native bench-wasm

bench-native:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...

bench-wasm:
	@mkdir -p build
	$(GO) build -o $(WAZERO) github.com/tetratelabs/wazero/cmd/wazero
	PATH="$(CURDIR)/build:$$PATH" GOWASIRUNTIME=wazero $(WASMENV) $(GO) test \
		-exec "$$($(GO) env GOROOT)/lib/wasm/go_wasip1_wasm_exec" \
		-run='^$$' -bench=. -benchmem -count=1 $(WASM_BENCH_PKGS)

# Compare the allow path, snapshot apply and memory benchmarks of BASE (any git ref) with the
# working tree: both built, COUNT rounds run alternately, benchstat's table printed (raw
# outputs in build/bench-compare/). BENCHTIME=1x makes a smoke run. See BENCHMARKS.md,
# "Comparing two commits".
COUNT ?= 6
BENCHTIME ?=

bench-compare:
	@test -n "$(BASE)" || { echo "usage: make bench-compare BASE=<git ref> [COUNT=6] [BENCHTIME=1x]" >&2; exit 2; }
	COUNT=$(COUNT) BENCHTIME=$(BENCHTIME) scripts/bench-compare.sh $(BASE)

# The soak: SOAK_REQUESTS requests through the whole stack on loopback (control server on
# SQLite, the filter on worker VMs, the gateway, an echo upstream) while keys change every
# second and the control server restarts twice; every answer is checked. make test runs a
# short version of the same test (24,000 warm-up requests, at least 10,000 more). Results:
# BENCHMARKS.md.
SOAK_REQUESTS ?= 1000000

soak: wasm-test-modules
	$(GO) test -count=1 -run='^TestSoak$$' -timeout=4h -v ./e2e/stack -args -soak.requests=$(SOAK_REQUESTS)

# The whole stack locally: control server on ./data (SQLite), the filter on worker VMs polling
# it, the gateway on :8080 in front of an echo upstream. Prints the admin token and a demo key.
run: build
	$(GO) build -o build/portcullis-local ./e2e/cmd/portcullis-local
	./build/portcullis-local $(RUN_FLAGS)

# Release artifacts in dist/: the module and its SHA-256 (envoy-control.yaml's code.remote.sha256),
# every command under control/cmd (static, no cgo: the SQLite store is pure Go; GOOS and GOARCH
# in the environment cross-compile them), the module as an OCI image for Istio's WasmPlugin (a layout directory and its tar
# archive, written by Go code in scripts/ociimage, no docker) with its manifest digest, and the
# Istio example. VERSION tags the image.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
DIST := dist

dist: build
	rm -rf $(DIST) && mkdir -p $(DIST)
	cp $(WASM) $(DIST)/portcullis.wasm
	cd $(DIST) && { sha256sum portcullis.wasm 2>/dev/null || shasum -a 256 portcullis.wasm; } > portcullis.wasm.sha256
	@set -e; for d in control/cmd/*/; do name=$$(basename $$d); \
		echo "building $$name"; \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(DIST)/$$name ./$$d; \
	done
	$(GO) run ./scripts/ociimage -wasm $(DIST)/portcullis.wasm -tag $(VERSION) -out $(DIST)/portcullis-oci | tee $(DIST)/portcullis-oci.digest
	cp docs/istio/wasmplugin.yaml envoy-control.yaml $(DIST)/

clean:
	rm -rf build $(DIST)
