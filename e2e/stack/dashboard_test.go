package stack_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dashboard is the part of a Grafana dashboard the check reads.
type dashboard struct {
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// promQLWords are PromQL's functions, aggregations and keywords the dashboard uses: every other
// identifier outside label matchers and by-clauses is a metric name.
var promQLWords = map[string]bool{
	"sum": true, "max": true, "min": true, "avg": true, "count": true, "rate": true, "increase": true,
	"irate": true, "histogram_quantile": true, "by": true, "without": true, "on": true, "ignoring": true,
	"and": true, "or": true, "unless": true, "offset": true,
}

var (
	identRE    = regexp.MustCompile(`\$?[a-zA-Z_:][a-zA-Z0-9_:]*`)
	matcherRE  = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	groupingRE = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	stringRE   = regexp.MustCompile(`"[^"]*"`)
)

// queryNames returns the metric names and the grouping labels a PromQL expression uses.
func queryNames(expr string) (metrics, labels []string) {
	expr = stringRE.ReplaceAllString(expr, " ")
	for _, g := range groupingRE.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(g[1], ",") {
			labels = append(labels, strings.TrimSpace(l))
		}
	}
	expr = groupingRE.ReplaceAllString(expr, " ")
	expr = matcherRE.ReplaceAllString(expr, " ")
	for _, id := range identRE.FindAllString(expr, -1) {
		if !strings.HasPrefix(id, "$") && !promQLWords[id] {
			metrics = append(metrics, id)
		}
	}
	return metrics, labels
}

// exported scrapes a /metrics endpoint into the series names it exposes (histogram families
// with _bucket, _sum and _count) and the label names it uses.
func exported(t *testing.T, url string, names, labels map[string]bool) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", url, resp.StatusCode)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		if n, ls, ok := strings.Cut(name, "{"); ok {
			name = n
			for _, kv := range strings.Split(strings.TrimSuffix(ls, "}"), ",") {
				if k, _, ok := strings.Cut(kv, "="); ok {
					labels[k] = true
				}
			}
		}
		names[name] = true
	}
}

// TestDashboardNamesExportedMetrics: every metric the Grafana dashboard queries, and every
// label it groups by, is exported by a running gateway (the compiled filter) or control
// server, after one allowed and one denied request. A renamed metric fails here.
func TestDashboardNamesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../docs/grafana/portcullis.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	e := start(t, stores[0].cfg(t), nil)
	k := e.createKey(t, "dashboard")
	e.waitStatus(t, k.Key, http.StatusOK, time.Now(), 10*time.Second)
	if st := e.get(t, ""); st != http.StatusUnauthorized {
		t.Fatalf("without a key: %d", st)
	}
	names, labels := map[string]bool{}, map[string]bool{}
	exported(t, e.AdminURL()+"/metrics", names, labels)
	exported(t, e.ControlURL()+"/metrics", names, labels)

	queries := 0
	for _, p := range d.Panels {
		for _, target := range p.Targets {
			queries++
			metrics, groupBy := queryNames(target.Expr)
			if len(metrics) == 0 {
				t.Errorf("panel %q: no metric in %q", p.Title, target.Expr)
			}
			for _, m := range metrics {
				if !names[m] {
					t.Errorf("panel %q queries %s, which neither the gateway nor the control server exports", p.Title, m)
				}
			}
			for _, l := range groupBy {
				if l != "le" && !labels[l] {
					t.Errorf("panel %q groups by %q, a label no exported series has", p.Title, l)
				}
			}
		}
	}
	if queries < 10 {
		t.Errorf("the dashboard has %d queries", queries)
	}
}

// The name extraction the check relies on.
func TestQueryNames(t *testing.T) {
	m, l := queryNames(`histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="y"}[$__rate_interval]))) / sum by (route, reason) (b_total) or c`)
	if strings.Join(m, ",") != "a_bucket,b_total,c" || strings.Join(l, ",") != "le,route,reason" {
		t.Errorf("metrics %q labels %q", m, l)
	}
}
