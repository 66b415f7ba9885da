package checks_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/control/checks"
	"github.com/portcullis/portcullis/shared/policy"
)

// BenchmarkWarn is GET /v1/checks on the largest snapshot the control server is benchmarked
// with (1,000 routes, 10,000 keys with usage): the route pairs of the shadowing analysis are
// quadratic in routes.
func BenchmarkWarn(b *testing.B) {
	var d strings.Builder
	d.WriteString(`{"version": 1, "routes": [`)
	for i := range 1000 {
		if i > 0 {
			d.WriteString(",")
		}
		auth := "api_key"
		if i%10 == 0 {
			auth = "none"
		}
		fmt.Fprintf(&d, `{"name": "r%d", "match": {"hosts": ["h%d.example.com"], "path_prefix": "/p%d", "methods": ["GET"]}, "auth": {"type": "%s"}}`, i, i%50, i, auth)
	}
	d.WriteString(`], "keys": [`)
	usage := map[string]checks.KeyUsage{}
	now := time.Now()
	for i := range 10000 {
		if i > 0 {
			d.WriteString(",")
		}
		fmt.Fprintf(&d, `{"id": "k%d", "sha256": "%064x"}`, i, i+1)
		usage[fmt.Sprintf("k%d", i)] = checks.KeyUsage{CreatedAt: now.Add(-time.Duration(i) * time.Hour)}
	}
	d.WriteString(`]}`)
	doc, err := policy.Parse([]byte(d.String()))
	if err != nil {
		b.Fatal(err)
	}
	in := checks.Inputs{Now: now, Usage: usage}
	b.ResetTimer()
	for b.Loop() {
		checks.Warn(doc, in)
	}
}
