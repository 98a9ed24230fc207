package config

import "slices"

// suggest returns the candidate closest to word, or "" when none is close enough to
// be a likely typo. Closeness is the optimal string alignment distance (Levenshtein
// with transpositions of neighbours); a candidate for which prefer returns true wins a
// tie. The allowed distance grows with the word: 1 up to 4 letters, 2 up to 8, 3
// beyond. A word that is itself a candidate is no typo: it gets "".
func suggest(word string, candidates []string, prefer func(string) bool) string {
	if slices.Contains(candidates, word) {
		return ""
	}
	limit := maxTypoDistance(word)
	best, bestDist, bestPref := "", limit+1, false
	for _, c := range candidates {
		if c == word {
			continue
		}
		d := editDistance(word, c)
		if d > limit {
			continue
		}
		p := prefer != nil && prefer(c)
		if d < bestDist || d == bestDist && p && !bestPref {
			best, bestDist, bestPref = c, d, p
		}
	}
	return best
}

func maxTypoDistance(word string) int {
	switch n := len(word); {
	case n <= 4:
		return 1
	case n <= 8:
		return 2
	}
	return 3
}

// editDistance is the optimal string alignment distance between a and b, on bytes.
func editDistance(a, b string) int {
	// rows i-2, i-1 and i of the dynamic programming table
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
