package envoyconfig

import (
	"os"
	"reflect"
	"testing"

	"github.com/portcullis/portcullis/e2e/wasmhost"
)

// The Envoy files turn the filter's stat-name segments into the same labels as the local
// gateway's /metrics: their stats_tags are exactly the gateway's tag extractors, in order.
func TestStatsTagsMatchTheGateway(t *testing.T) {
	for _, file := range envoyFiles {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			var got []wasmhost.StatsTag
			for _, s := range b.GetStatsConfig().GetStatsTags() {
				got = append(got, wasmhost.StatsTag{Name: s.GetTagName(), Regex: s.GetRegex()})
			}
			if !reflect.DeepEqual(got, wasmhost.DefaultStatsTags) {
				t.Errorf("stats_tags = %q\nwant the gateway's %q", got, wasmhost.DefaultStatsTags)
			}
			if !b.GetStatsConfig().GetUseAllDefaultTags().GetValue() && b.GetStatsConfig().GetUseAllDefaultTags() != nil {
				t.Error("use_all_default_tags is off: Envoy's own stats would lose their labels")
			}
		})
	}
}

// envoyFiles are the Envoy bootstraps the repository ships.
var envoyFiles = []string{envoyYAML, envoyControlYAML}
