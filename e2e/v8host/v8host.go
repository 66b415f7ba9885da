package v8host

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

//go:embed *.mjs
var scripts embed.FS

// Config is the module and how the host presents itself to it.
type Config struct {
	// Node is the node binary; empty means FindNode.
	Node string
	// Module is the path of the compiled .wasm.
	Module string
	// PluginConfig and VMConfig are what the filter reads with GetPluginConfiguration (only in
	// proxy_on_configure) and GetVMConfiguration.
	PluginConfig, VMConfig []byte
	// PluginName, RootID and VMID are the plugin_name, plugin_root_id and plugin_vm_id
	// properties.
	PluginName, RootID, VMID string
	// Clock, when set, freezes the wall clock the filter sees (time.Now,
	// proxy_get_current_time_nanoseconds) at that instant, like a wasmhost.FakeClock that is
	// never advanced. Zero means the real clock.
	Clock time.Time
	// BufferLimit bounds the body held for the filter per stream side; 0 means 1 MiB.
	BufferLimit int
	// Compiler picks V8's Wasm compiler; the zero value is V8's default tiering.
	Compiler Compiler
}

// Compiler is which of V8's two Wasm compilers runs the module. By default V8 compiles every
// function with its baseline compiler (Liftoff) and recompiles the hot ones with its optimizing
// compiler (TurboFan), so a short test runs almost only Liftoff code while a busy Envoy runs
// mostly TurboFan code. Forcing one compiler for a whole run tests each on every function the
// run reaches.
type Compiler int

const (
	// Tiered is V8's default: Liftoff first, TurboFan for hot functions.
	Tiered Compiler = iota
	// Liftoff compiles every function with the baseline compiler only (--liftoff-only).
	Liftoff
	// TurboFan compiles every function with the optimizing compiler (--no-liftoff).
	TurboFan
)

func (c Compiler) String() string {
	switch c {
	case Liftoff:
		return "liftoff"
	case TurboFan:
		return "turbofan"
	}
	return "tiered"
}

func (c Compiler) flags() []string {
	switch c {
	case Liftoff:
		return []string{"--liftoff-only"}
	case TurboFan:
		return []string{"--no-liftoff"}
	}
	return nil
}

// StreamInfo is the connection a stream arrived on, for the source.*, destination.*,
// connection.id and request.protocol properties. Addresses are "ip:port" (netip.AddrPort's
// String); empty means unknown.
type StreamInfo struct {
	Source, Destination string
	Protocol            string
	ConnectionID        uint64
}

// Exchange is one request and the upstream's answer to it.
type Exchange struct {
	Name string
	Info StreamInfo
	// Request is the request headers, pseudo-headers included; RequestBody its body chunks
	// (none: the headers end the request).
	Request     [][2]string
	RequestBody [][]byte
	// Response is what the upstream answers (:status included) when the filter lets the whole
	// request through; empty means the exchange ends with the request.
	Response     [][2]string
	ResponseBody [][]byte
}

// Side is what the filter let through on one side of an exchange.
type Side struct {
	// Action is the last wasmhost.Action the side ended with, as its String: "continue",
	// "pause", "local-response" or "reset".
	Action string
	// Headers are the headers as released (pseudo-headers first), nil if never released.
	Headers [][2]string
	Body    []byte
}

// Local is a local reply: what the client got instead of the upstream's answer.
type Local struct {
	Status  int
	Headers [][2]string // without :status
	Body    []byte
	Details string
}

// Outcome is what one exchange produced.
type Outcome struct {
	Request Side
	// Response is nil when the response was not sent (the request did not go through).
	Response *Side
	Local    *Local
	// Reset is why the stream was reset, empty if it was not.
	Reset string
	// Logs are the host's log lines during the exchange (proxy_log, the module's stdout and
	// stderr, host events), for diagnostics.
	Logs []string
}

// Metric is one metric after the run.
type Metric struct {
	Name       string
	Kind       int // 0 counter, 1 gauge, 2 histogram (wasmhost.MetricKind)
	Value      int64
	Count, Sum uint64
	// Buckets are the cumulative histogram counts at Envoy's default bounds (no +Inf).
	Buckets []uint64
}

// Result is what a run produced.
type Result struct {
	Outcomes []Outcome // one per exchange, in order
	Metrics  []Metric  // sorted by name
	// VMFailed says why the VM failed (trapped), empty if it did not.
	VMFailed string
	// V8 is the version of V8 that ran the module.
	V8 string
}

// ErrNoNode is returned by FindNode when Node.js is not installed.
var ErrNoNode = errors.New("node (Node.js 18 or later, which embeds V8) is not on PATH: install it with `apt-get install nodejs`")

// FindNode returns the path of the node binary.
func FindNode() (string, error) {
	path, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNoNode, err)
	}
	return path, nil
}

// Run starts one VM of cfg.Module on V8, sends every exchange through it in order, and returns
// the outcomes. A module that does not start (it imports what Envoy does not provide, traps,
// or rejects its configuration) is an error naming the reason.
func Run(ctx context.Context, cfg Config, exchanges []Exchange) (*Result, error) {
	node := cfg.Node
	if node == "" {
		var err error
		if node, err = FindNode(); err != nil {
			return nil, err
		}
	}
	module, err := filepath.Abs(cfg.Module)
	if err != nil {
		return nil, fmt.Errorf("module path: %w", err)
	}
	if _, err := os.Stat(module); err != nil {
		return nil, fmt.Errorf("module: %w (run make build)", err)
	}
	input, err := json.Marshal(encodeInput(cfg, module, exchanges))
	if err != nil {
		return nil, fmt.Errorf("encoding the exchanges: %w", err)
	}
	dir, err := os.MkdirTemp("", "portcullis-v8host-")
	if err != nil {
		return nil, fmt.Errorf("v8 host scripts: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.CopyFS(dir, scripts); err != nil {
		return nil, fmt.Errorf("v8 host scripts: %w", err)
	}

	cmd := exec.CommandContext(ctx, node, append(cfg.Compiler.flags(), filepath.Join(dir, "host.mjs"))...)
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out wireOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("node %s: %v; no result (%v); stderr:\n%s", filepath.Base(dir), runErr, err, tail(stderr.String()))
	}
	if out.Error != "" {
		return nil, fmt.Errorf("%s; logs: %s", out.Error, strings.Join(out.Logs, " | "))
	}
	if runErr != nil {
		return nil, fmt.Errorf("node: %w; stderr:\n%s", runErr, tail(stderr.String()))
	}
	if len(out.Outcomes) != len(exchanges) {
		return nil, fmt.Errorf("node returned %d outcomes for %d exchanges", len(out.Outcomes), len(exchanges))
	}
	return out.decode()
}

// tail keeps the end of a long stderr.
func tail(s string) string {
	const max = 4000
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}
