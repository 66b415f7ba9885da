package v8host

import (
	"fmt"
	"strconv"
)

// The JSON protocol between Run and host.mjs. Every string that is a header, a body or a
// configuration travels as base64 ([]byte in Go), so bytes that are not UTF-8 arrive unchanged;
// 64-bit numbers travel as decimal strings, which JSON numbers in JavaScript cannot hold.

type wirePairs [][2][]byte

func toWire(pairs [][2]string) wirePairs {
	if pairs == nil {
		return nil
	}
	out := make(wirePairs, len(pairs))
	for i, kv := range pairs {
		out[i] = [2][]byte{[]byte(kv[0]), []byte(kv[1])}
	}
	return out
}

func (w wirePairs) strings() [][2]string {
	if w == nil {
		return nil
	}
	out := make([][2]string, len(w))
	for i, kv := range w {
		out[i] = [2]string{string(kv[0]), string(kv[1])}
	}
	return out
}

type wireInput struct {
	Module       string         `json:"module"`
	PluginConfig []byte         `json:"plugin_config"`
	VMConfig     []byte         `json:"vm_config"`
	PluginName   string         `json:"plugin_name"`
	RootID       string         `json:"root_id"`
	VMID         string         `json:"vm_id"`
	ClockNs      string         `json:"clock_ns"`
	BufferLimit  int            `json:"buffer_limit"`
	Exchanges    []wireExchange `json:"exchanges"`
}

type wireInfo struct {
	Source       string `json:"source"`
	Destination  string `json:"destination"`
	Protocol     string `json:"protocol"`
	ConnectionID uint64 `json:"connection_id"`
}

type wireExchange struct {
	Name         string    `json:"name"`
	Info         wireInfo  `json:"info"`
	Request      wirePairs `json:"request"`
	RequestBody  [][]byte  `json:"request_body"`
	Response     wirePairs `json:"response"`
	ResponseBody [][]byte  `json:"response_body"`
}

func encodeInput(cfg Config, module string, exchanges []Exchange) wireInput {
	in := wireInput{
		Module: module, PluginConfig: cfg.PluginConfig, VMConfig: cfg.VMConfig,
		PluginName: cfg.PluginName, RootID: cfg.RootID, VMID: cfg.VMID, BufferLimit: cfg.BufferLimit,
	}
	if !cfg.Clock.IsZero() {
		in.ClockNs = strconv.FormatInt(cfg.Clock.UnixNano(), 10)
	}
	for _, ex := range exchanges {
		in.Exchanges = append(in.Exchanges, wireExchange{
			Name:         ex.Name,
			Info:         wireInfo{ex.Info.Source, ex.Info.Destination, ex.Info.Protocol, ex.Info.ConnectionID},
			Request:      toWire(ex.Request),
			RequestBody:  ex.RequestBody,
			Response:     toWire(ex.Response),
			ResponseBody: ex.ResponseBody,
		})
	}
	return in
}

type wireSide struct {
	Action  string    `json:"action"`
	Headers wirePairs `json:"headers"`
	Body    []byte    `json:"body"`
}

func (s wireSide) decode() Side {
	return Side{Action: s.Action, Headers: s.Headers.strings(), Body: s.Body}
}

type wireLocal struct {
	Status  int       `json:"status"`
	Headers wirePairs `json:"headers"`
	Body    []byte    `json:"body"`
	Details string    `json:"details"`
}

type wireOutcome struct {
	Request  wireSide   `json:"request"`
	Response *wireSide  `json:"response"`
	Local    *wireLocal `json:"local"`
	Reset    string     `json:"reset"`
	Logs     []string   `json:"logs"`
}

type wireMetric struct {
	Name    string   `json:"name"`
	Kind    int      `json:"kind"`
	Value   string   `json:"value"`
	Count   string   `json:"count"`
	Sum     string   `json:"sum"`
	Buckets []string `json:"buckets"`
}

type wireOutput struct {
	Error    string        `json:"error"`
	Logs     []string      `json:"logs"`
	Outcomes []wireOutcome `json:"outcomes"`
	Metrics  []wireMetric  `json:"metrics"`
	VMFailed string        `json:"vm_failed"`
	V8       string        `json:"v8"`
}

func (w *wireOutput) decode() (*Result, error) {
	r := &Result{VMFailed: w.VMFailed, V8: w.V8}
	for _, o := range w.Outcomes {
		out := Outcome{Request: o.Request.decode(), Reset: o.Reset, Logs: o.Logs}
		if o.Response != nil {
			s := o.Response.decode()
			out.Response = &s
		}
		if l := o.Local; l != nil {
			out.Local = &Local{Status: l.Status, Headers: l.Headers.strings(), Body: l.Body, Details: l.Details}
		}
		r.Outcomes = append(r.Outcomes, out)
	}
	for _, m := range w.Metrics {
		out := Metric{Name: m.Name, Kind: m.Kind}
		var err error
		if out.Value, err = strconv.ParseInt(m.Value, 10, 64); err != nil {
			return nil, fmt.Errorf("metric %s value: %w", m.Name, err)
		}
		if out.Count, err = strconv.ParseUint(m.Count, 10, 64); err != nil {
			return nil, fmt.Errorf("metric %s count: %w", m.Name, err)
		}
		if out.Sum, err = strconv.ParseUint(m.Sum, 10, 64); err != nil {
			return nil, fmt.Errorf("metric %s sum: %w", m.Name, err)
		}
		for _, b := range m.Buckets {
			n, err := strconv.ParseUint(b, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("metric %s bucket: %w", m.Name, err)
			}
			out.Buckets = append(out.Buckets, n)
		}
		r.Metrics = append(r.Metrics, out)
	}
	return r, nil
}
