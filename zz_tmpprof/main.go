package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

type stat struct {
	calls int64
	excl  time.Duration
}

type frame struct {
	name  string
	start time.Time
	child time.Duration
}

type prof struct {
	stats map[string]*stat
	stack []frame
}

func (p *prof) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener { return p }
func (p *prof) Before(_ context.Context, _ api.Module, def api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	p.stack = append(p.stack, frame{name: def.DebugName(), start: time.Now()})
}
func (p *prof) After(_ context.Context, _ api.Module, def api.FunctionDefinition, _ []uint64) { p.pop() }
func (p *prof) Abort(_ context.Context, _ api.Module, def api.FunctionDefinition, _ error)  { p.pop() }
func (p *prof) pop() {
	n := len(p.stack) - 1
	f := p.stack[n]
	p.stack = p.stack[:n]
	d := time.Since(f.start)
	s := p.stats[f.name]
	if s == nil {
		s = &stat{}
		p.stats[f.name] = s
	}
	s.calls++
	s.excl += d - f.child
	if n > 0 {
		p.stack[n-1].child += d
	}
}

func main() {
	p := &prof{stats: map[string]*stat{}}
	ctx := experimental.WithFunctionListenerFactory(context.Background(), p)
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	bin, _ := os.ReadFile(os.Args[1])
	cfg := wazero.NewModuleConfig().WithArgs(append([]string{"x"}, os.Args[2:]...)...).WithStdout(os.Stdout).WithStderr(os.Stderr).WithSysWalltime().WithSysNanotime().WithSysNanosleep()
	_, err := r.InstantiateWithConfig(ctx, bin, cfg)
	fmt.Println("err:", err)
	type kv struct {
		k string
		s *stat
	}
	var all []kv
	var total time.Duration
	for k, s := range p.stats {
		all = append(all, kv{k, s})
		total += s.excl
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s.excl > all[j].s.excl })
	for _, e := range all[:40] {
		fmt.Printf("%6.2f%% %10d %s\n", 100*float64(e.s.excl)/float64(total), e.s.calls, e.k)
	}
}
