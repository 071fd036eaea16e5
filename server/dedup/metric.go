package dedup

// String metrics. They are written here rather than taken from a library
// because they run tens of millions of times in a full run and must not
// allocate: names are compared as pre-decoded rune slices.

// maxJaroLen bounds the inputs of jaroWinkler; longer inputs are truncated.
const maxJaroLen = 64

// jaroWinkler returns the Jaro-Winkler similarity of a and b in [0,1].
func jaroWinkler(a, b []rune) float64 {
	if len(a) > maxJaroLen {
		a = a[:maxJaroLen]
	}
	if len(b) > maxJaroLen {
		b = b[:maxJaroLen]
	}
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	j := jaro(a, b)
	prefix := 0
	for prefix < 4 && prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	return j + float64(prefix)*0.1*(1-j)
}

func jaro(a, b []rune) float64 {
	var am, bm [maxJaroLen]bool
	win := max(len(a), len(b))/2 - 1
	win = max(win, 0)
	matches := 0
	for i := range a {
		lo, hi := max(0, i-win), min(len(b), i+win+1)
		for k := lo; k < hi; k++ {
			if !bm[k] && a[i] == b[k] {
				am[i], bm[k] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	trans, k := 0, 0
	for i := range a {
		if !am[i] {
			continue
		}
		for !bm[k] {
			k++
		}
		if a[i] != b[k] {
			trans++
		}
		k++
	}
	m := float64(matches)
	return (m/float64(len(a)) + m/float64(len(b)) + (m-float64(trans/2))/m) / 3
}

// oneEdit reports whether a and b (same-alphabet byte strings) differ by
// exactly one substitution, insertion, deletion or adjacent transposition.
func oneEdit(a, b string) bool {
	if a == b {
		return false
	}
	switch len(a) - len(b) {
	case 0:
		return oneSubOrSwap(a, b)
	case 1:
		return oneInsert(b, a)
	case -1:
		return oneInsert(a, b)
	}
	return false
}

func oneSubOrSwap(a, b string) bool {
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if a[i+1:] == b[i+1:] {
		return true
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}

// oneInsert reports whether long is short with one byte inserted.
func oneInsert(short, long string) bool {
	i := 0
	for i < len(short) && short[i] == long[i] {
		i++
	}
	return short[i:] == long[i+1:]
}
