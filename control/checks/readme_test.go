package checks_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/portcullis/portcullis/control/checks"
)

// The README's table of checks lists every catalog id with its severity, and nothing else.
func TestREADMETable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`(?m)^\| (PC\d{3}) \| (\w+) \|`).FindAllStringSubmatch(string(readme), -1)
	documented := map[string]string{}
	for _, r := range rows {
		documented[r[1]] = r[2]
	}
	for _, c := range checks.Catalog {
		if sev, ok := documented[c.ID]; !ok || sev != string(c.Severity) {
			t.Errorf("README: %s documented as %q, catalog says %q", c.ID, sev, c.Severity)
		}
		delete(documented, c.ID)
	}
	for id := range documented {
		t.Errorf("README documents %s, which the catalog lacks", id)
	}
}
