package cli

import (
	"fmt"
	"strings"
)

// maxLCSCells bounds the longest-common-subsequence table (4 bytes a cell): past it, the
// changed middle is shown as removed and added whole.
const maxLCSCells = 16 << 20

// diffLine is one line of an edit script.
type diffLine struct {
	op     byte // ' ', '-', '+'
	text   string
	ai, bi int // 1-based line numbers in a and b of this line, or of the next one
}

// unifiedDiff returns a unified diff of two texts by lines (with 3 lines of context), or "" when
// they are equal. Common leading and trailing lines are matched first, so an edit to a
// 10,000-route policy costs a table the size of the edit, not of the policy; the changed middle
// gets a longest-common-subsequence diff when its table fits maxLCSCells.
func unifiedDiff(fromName, toName, from, to string) string {
	if from == to {
		return ""
	}
	a, b := splitLines(from), splitLines(to)
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var lines []diffLine
	for k := 0; k < pre; k++ {
		lines = append(lines, diffLine{' ', a[k], k + 1, k + 1})
	}
	lines = append(lines, middle(a[pre:len(a)-suf], b[pre:len(b)-suf], pre)...)
	for k := suf; k > 0; k-- {
		lines = append(lines, diffLine{' ', a[len(a)-k], len(a) - k + 1, len(b) - k + 1})
	}
	return hunks(fromName, toName, lines)
}

// splitLines splits after each newline; a final newline ends the last line, not a new one.
func splitLines(s string) []string {
	l := strings.SplitAfter(s, "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}

// middle diffs the changed part; off is the number of lines before it.
func middle(a, b []string, off int) []diffLine {
	var lines []diffLine
	if int64(len(a)+1)*int64(len(b)+1) > maxLCSCells {
		for i, l := range a {
			lines = append(lines, diffLine{'-', l, off + i + 1, off + 1})
		}
		for j, l := range b {
			lines = append(lines, diffLine{'+', l, off + len(a) + 1, off + j + 1})
		}
		return lines
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int32, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			lines = append(lines, diffLine{' ', a[i], off + i + 1, off + j + 1})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, diffLine{'-', a[i], off + i + 1, off + j + 1})
			i++
		default:
			lines = append(lines, diffLine{'+', b[j], off + i + 1, off + j + 1})
			j++
		}
	}
	return lines
}

// hunks formats an edit script as unified-diff hunks with 3 lines of context.
func hunks(fromName, toName string, lines []diffLine) string {
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", fromName, toName)
	const context = 3
	for k := 0; k < len(lines); {
		if lines[k].op == ' ' {
			k++
			continue
		}
		start := max(0, k-context)
		end := k
		// Extend the hunk while changes are within 2×context lines of each other.
		for end < len(lines) {
			if lines[end].op != ' ' {
				end++
				continue
			}
			next := end
			for next < len(lines) && lines[next].op == ' ' && next-end < 2*context {
				next++
			}
			if next < len(lines) && lines[next].op != ' ' {
				end = next
				continue
			}
			break
		}
		stop := min(len(lines), end+context)
		na, nb := 0, 0
		for _, l := range lines[start:stop] {
			if l.op != '+' {
				na++
			}
			if l.op != '-' {
				nb++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", lines[start].ai, na, lines[start].bi, nb)
		for _, l := range lines[start:stop] {
			out.WriteByte(l.op)
			out.WriteString(strings.TrimSuffix(l.text, "\n"))
			out.WriteByte('\n')
		}
		k = stop
	}
	return out.String()
}
