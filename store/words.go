package store

import (
	"slices"
	"strings"
)

// wordIndex is the memories copy's word index: for every word, the rows
// (indices into the copy's rows) whose text holds it, ascending, and the
// words in sorted order for prefix lookups (the lexical index's queries are
// prefix queries: ftsPrefix). Words are numbered as they first appear; a
// word whose rows were all cut stays, with no rows, until the copy reloads.
type wordIndex struct {
	ids   map[string]int32 // word -> its number
	words []string         // by number
	lists [][]int32        // by number: the rows holding the word, ascending

	sorted []int32 // word numbers in the words' order; nil when stale
	fresh  []int32 // numbers of the words added since sorted was built, in no order
}

// maxFreshWords is how many new words wait beside the sorted ones before
// they are merged in: a turn's few new words do not sort them all again.
const maxFreshWords = 512

func newWordIndex(rows int) *wordIndex {
	return &wordIndex{ids: make(map[string]int32, rows/4)} // about a new word every few memories in a long story
}

// post lists row i under each word of text and reports true; a text the
// index does not split (see splitPlain) is not listed, and post reports
// false.
func (x *wordIndex) post(i int32, text string) bool {
	return splitPlain(text, func(w []byte) {
		n, ok := x.ids[string(w)] // no allocation for the lookup
		if !ok {
			n = int32(len(x.words))
			s := string(w)
			x.ids[s] = n
			x.words = append(x.words, s)
			x.lists = append(x.lists, nil)
			x.added(n)
		}
		if l := x.lists[n]; len(l) == 0 || l[len(l)-1] != i {
			x.lists[n] = append(l, i)
		}
	})
}

// added records a new word in the sorted order, or beside it.
func (x *wordIndex) added(n int32) {
	if x.sorted == nil {
		return // sorted whole on the next lookup
	}
	x.fresh = append(x.fresh, n)
	if len(x.fresh) < maxFreshWords {
		return
	}
	byWord := func(a, b int32) int { return strings.Compare(x.words[a], x.words[b]) }
	slices.SortFunc(x.fresh, byWord)
	merged := make([]int32, 0, len(x.sorted)+len(x.fresh))
	i, j := 0, 0
	for i < len(x.sorted) && j < len(x.fresh) {
		if byWord(x.sorted[i], x.fresh[j]) < 0 {
			merged = append(merged, x.sorted[i])
			i++
		} else {
			merged = append(merged, x.fresh[j])
			j++
		}
	}
	merged = append(merged, x.sorted[i:]...)
	x.sorted = append(merged, x.fresh[j:]...)
	x.fresh = x.fresh[:0]
}

// sort orders every word.
func (x *wordIndex) sort() {
	x.sorted = make([]int32, len(x.words))
	for n := range x.sorted {
		x.sorted[n] = int32(n)
	}
	slices.SortFunc(x.sorted, func(a, b int32) int { return strings.Compare(x.words[a], x.words[b]) })
	x.fresh = x.fresh[:0]
}

// prefixed returns the row lists of the words starting with p that hold
// any row.
func (x *wordIndex) prefixed(p string) [][]int32 {
	if x.sorted == nil {
		x.sort()
	}
	var lists [][]int32
	at, _ := slices.BinarySearchFunc(x.sorted, p, func(n int32, p string) int { return strings.Compare(x.words[n], p) })
	for _, n := range x.sorted[at:] {
		if !strings.HasPrefix(x.words[n], p) {
			break
		}
		if l := x.lists[n]; len(l) > 0 {
			lists = append(lists, l)
		}
	}
	for _, n := range x.fresh {
		if l := x.lists[n]; len(l) > 0 && strings.HasPrefix(x.words[n], p) {
			lists = append(lists, l)
		}
	}
	return lists
}

// cut drops the rows from end on, gone, from the lists: from the lists of
// their words when they are few (a rewind), else from every list.
func (x *wordIndex) cut(end int32, c *memCopy, gone []memRow) {
	trim := func(n int32) {
		l := x.lists[n]
		if k, _ := slices.BinarySearch(l, end); k < len(l) {
			x.lists[n] = l[:k]
		}
	}
	if len(gone) > len(x.words)/64 {
		for n := range x.lists {
			trim(int32(n))
		}
		return
	}
	for i := range gone {
		splitPlain(string(c.textBytes(&gone[i])), func(w []byte) {
			if n, ok := x.ids[string(w)]; ok {
				trim(n)
			}
		})
	}
}

// splitPlain calls word with each word of text as FTS5's unicode61
// tokenizer splits it, for the texts where that is plain: runs of ASCII
// letters and digits, lower-cased, separated by anything else ASCII or by
// General Punctuation (U+2000 to U+206F: dashes, curly quotes, ellipses,
// spaces, which every Unicode version calls punctuation, spaces or format
// characters, never letters). word's argument is valid only during the
// call. For any other text (foreign: left to the lexical index, whose
// Unicode tables this does not repeat) it calls nothing and reports false.
func splitPlain(text string, word func([]byte)) bool {
	for _, r := range text {
		if r >= 0x80 && (r < 0x2000 || r > 0x206F) {
			return false
		}
	}
	var buf [64]byte
	w := buf[:0]
	for k := 0; k < len(text); k++ {
		switch b := text[k]; {
		case b >= 'a' && b <= 'z' || b >= '0' && b <= '9':
			w = append(w, b)
		case b >= 'A' && b <= 'Z':
			w = append(w, b+'a'-'A')
		default: // ASCII punctuation and space, or a General Punctuation rune's bytes
			if len(w) > 0 {
				word(w)
				w = w[:0]
			}
		}
	}
	if len(w) > 0 {
		word(w)
	}
	return true
}
