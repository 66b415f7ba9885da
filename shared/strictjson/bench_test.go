package strictjson

import (
	"fmt"
	"strings"
	"testing"
)

// bigDocument is shaped like a snapshot's key list: many small objects with short strings.
func bigDocument(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"keys":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"key-%06d","name":"Key number %d","sha256":"%064x","active":true,"allowed_paths":["/v1/a","/v1/b"],"permissions":["read","write"],"expires_at":"2030-01-01T00:00:00Z"}`, i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkRead walks a 10,000-object document generically (the Reader's floor).
func BenchmarkRead(b *testing.B) {
	data := bigDocument(10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(data)
		r.Skip()
		if err := r.Finish(); err != nil {
			b.Fatal(err)
		}
	}
}
