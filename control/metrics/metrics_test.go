package metrics

import (
	"strings"
	"sync"
	"testing"
)

func TestExposition(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("a_total", "A things.")
	g := r.Gauge("b", "B level.")
	v := r.CounterVec("c_total", "C by kind.", "kind", "code")
	r.GaugeFunc("d", "D now.", func() float64 { return 1.5 })
	c.Add(2)
	c.Inc()
	g.Set(10)
	g.Add(-2.5)
	v.With("x", "200").Inc()
	v.With("a\"b\\c\nd", "500").Add(4)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { v.With("x", "200").Inc() })
	}
	wg.Wait()

	var b strings.Builder
	n, err := r.WriteTo(&b)
	if err != nil || n != int64(b.Len()) {
		t.Fatalf("WriteTo = %d, %v (wrote %d)", n, err, b.Len())
	}
	want := `# HELP a_total A things.
# TYPE a_total counter
a_total 3
# HELP b B level.
# TYPE b gauge
b 7.5
# HELP c_total C by kind.
# TYPE c_total counter
c_total{kind="a\"b\\c\nd",code="500"} 4
c_total{kind="x",code="200"} 9
# HELP d D now.
# TYPE d gauge
d 1.5
`
	if b.String() != want {
		t.Fatalf("exposition =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestMisuse(t *testing.T) {
	r := NewRegistry()
	r.Counter("x", "")
	for name, fn := range map[string]func(){
		"duplicate name":    func() { r.Gauge("x", "") },
		"wrong label count": func() { r.CounterVec("y", "", "a").With("1", "2") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}
