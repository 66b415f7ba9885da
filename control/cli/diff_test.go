package cli

import (
	"strconv"
	"strings"
	"testing"
)

func numbered(from, to int, change map[int]string) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		if s, ok := change[i]; ok {
			b.WriteString(s)
		} else {
			b.WriteString("line " + strconv.Itoa(i) + "\n")
		}
	}
	return b.String()
}

func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"one line changed, three of context", numbered(1, 20, nil), numbered(1, 20, map[int]string{10: "changed\n"}),
			"--- s\n+++ f\n@@ -7,7 +7,7 @@\n line 7\n line 8\n line 9\n-line 10\n+changed\n line 11\n line 12\n line 13\n"},
		{"two changes far apart are two hunks", numbered(1, 30, nil), numbered(1, 30, map[int]string{2: "x\n", 28: "y\n"}),
			"--- s\n+++ f\n@@ -1,5 +1,5 @@\n line 1\n-line 2\n+x\n line 3\n line 4\n line 5\n" +
				"@@ -25,6 +25,6 @@\n line 25\n line 26\n line 27\n-line 28\n+y\n line 29\n line 30\n"},
		{"lines added at the end", "a\n", "a\nb\nc\n", "--- s\n+++ f\n@@ -1,1 +1,3 @@\n a\n+b\n+c\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unifiedDiff("s", "f", tc.from, tc.to); got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	// Past maxLCSCells the changed middle is shown removed and added whole, with the common
	// ends still matched: bounded memory for the largest policies.
	var a, b strings.Builder
	a.WriteString("head\n")
	b.WriteString("head\n")
	for i := range 5000 {
		a.WriteString("a" + strconv.Itoa(i) + "\n")
		b.WriteString("b" + strconv.Itoa(i) + "\n")
	}
	a.WriteString("tail\n")
	b.WriteString("tail\n")
	got := unifiedDiff("s", "f", a.String(), b.String())
	if !strings.HasPrefix(got, "--- s\n+++ f\n@@ -1,5002 +1,5002 @@\n head\n-a0\n") || !strings.HasSuffix(got, "+b4999\n tail\n") ||
		strings.Count(got, "\n-a") != 5000 || strings.Count(got, "\n+b") != 5000 {
		t.Fatalf("large diff:\n%.300s…%s", got, got[len(got)-100:])
	}
}
