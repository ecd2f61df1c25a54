// Package embed holds the local text embedder: the default that needs no
// network and no model, so retrieval works offline and pack tests stay
// deterministic. It turns a text into a fixed-size, L2-normalised vector by
// feature hashing: words, word pairs and character n-grams of each word are
// hashed to one of Dims coordinates with a hashed sign (the "hashing trick"
// of Weinberger et al., the sparse random projection fastText's subword
// buckets also rely on). Texts that share words, word pairs or pieces of
// words ("hid" and "hide", "flowerpot" and "flowerpots") point the same way.
//
// It is not a language model: it knows nothing of synonyms. Model-backed
// embeddings (an OpenAI-compatible /v1/embeddings server) live in
// core/backend; both satisfy the same small interface where they are used.
package embed

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultDims is the dimension of the local embedder's vectors.
const DefaultDims = 384

// version names the feature set; it is part of Model(), so a change to the
// features invalidates cached embeddings instead of mixing two spaces.
const version = "ngram-v6"

// Feature weights. Words carry the meaning; pairs keep some order ("the key
// under the pot" vs "the pot under the key"); character n-grams bridge word
// forms and typos. A word's n-grams share one budget (wGrams, spread as
// wGrams/sqrt(count) each, so their norm is wGrams): a long word would
// otherwise outweigh a short one many times over just by having more
// n-grams, and "remember" would drown "scarf".
const (
	wWord     = 1.0
	wStopWord = 0.2 // "the", "and": present, but nearly weightless
	wCommon   = 0.5 // "remember", "left": common words weigh half
	wPair     = 0.5
	wGrams    = 0.9
	minGram   = 3
	maxGram   = 5
)

// Local is the local embedder. The zero value is not usable: call NewLocal.
// It is safe for concurrent use and deterministic: the same text always
// gives the same vector, on every machine.
type Local struct {
	dims int
}

// NewLocal returns a local embedder of dims dimensions (DefaultDims when
// dims <= 0).
func NewLocal(dims int) *Local {
	if dims <= 0 {
		dims = DefaultDims
	}
	return &Local{dims: dims}
}

// Model identifies the embedder and its feature set, for caches.
func (l *Local) Model() string { return fmt.Sprintf("local:%s:%d", version, l.dims) }

// Dims is the length of every vector.
func (l *Local) Dims() int { return l.dims }

// Embed embeds texts. It never fails (ctx is checked between texts, so a
// huge batch can still be cancelled).
func (l *Local) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out[i] = l.Vector(t)
	}
	return out, nil
}

// Vector embeds one text: a unit vector, or all zeros for a text without a
// single letter or digit.
func (l *Local) Vector(text string) []float32 {
	return l.WeightedVector(text, nil)
}

// WeightedVector embeds a text with each word's features (the word, its
// pairs, its character n-grams) scaled by weight(word) (lower case, as
// Words gives it). It is for queries: a searcher that knows how rare each
// word is in the memories searched (its idf) can make the rare words of a
// query count and the everyday ones fade, which a single text's embedding
// cannot know. Stored texts are embedded with Vector, so they stay
// independent of the collection and cacheable. A nil weight is Vector.
func (l *Local) WeightedVector(text string, weight func(word string) float64) []float32 {
	v := make([]float32, l.dims)
	l.accumulate(v, text, weight)
	normalize(v)
	return v
}

// maxTextBytes bounds the work on one text: beyond it the text is cut (at a
// rune boundary). A memory is a line or a paragraph; 16 KiB is a long one.
const maxTextBytes = 16 << 10

// accumulate adds the hashed features of text to v, each word's scaled by
// weight (nil: 1).
func (l *Local) accumulate(v []float32, text string, weight func(string) float64) {
	if len(text) > maxTextBytes {
		cut := maxTextBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	var word, padded []rune // the current word, lower case; "<word>"
	var prev uint64         // hash of the previous content word, 0 at the start
	prevScale := 1.0
	var buf [4 * (maxGram + 2)]byte
	emit := func() {
		if len(word) == 0 {
			return
		}
		// The word feature is the word's stem: "seashells" is "seashell".
		// Its n-grams (below) come from the word as written.
		h := hashRunes(tagWord, stemRunes(word))
		w := wWord
		stop, common := isStopWord(word), isCommonWord(word)
		switch {
		case stop:
			w = wStopWord
		case common:
			w = wCommon
		}
		scale := 1.0
		if weight != nil {
			scale = weight(string(word))
			if math.IsNaN(scale) || scale < 0 {
				scale = 0
			}
		}
		w *= scale
		l.add(v, h, w, spreadWord)
		// Pairs of consecutive content words, function words skipped: "the
		// key under the pot" pairs key-pot, and "do you", "we left the"
		// add nothing that could match by chance.
		if !stop {
			if prev != 0 {
				l.add(v, mix(prev, h), wPair*math.Sqrt(scale*prevScale), spreadWord)
			}
			prev, prevScale = h, scale
		}
		// Character n-grams of "<word>", the angle brackets marking the
		// ends, so a prefix and a suffix are features of their own.
		if len(word) >= 2 {
			padded = append(padded[:0], '<')
			padded = append(padded, word...)
			padded = append(padded, '>')
			count := 0
			for n := minGram; n <= maxGram; n++ {
				count += max(0, len(padded)-n+1)
			}
			wg := wGrams
			switch {
			case stop:
				wg *= wStopWord
			case common:
				wg *= wCommon
			}
			wg *= scale / math.Sqrt(float64(count))
			for n := minGram; n <= maxGram; n++ {
				for i := 0; i+n <= len(padded); i++ {
					b := buf[:0]
					for _, r := range padded[i : i+n] {
						b = utf8.AppendRune(b, r)
					}
					l.add(v, hashBytes(tagGram, b), wg, spreadGram)
				}
			}
		}
		word = word[:0]
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			word = append(word, unicode.ToLower(r))
		case r == '\'' || r == '’':
			// inside a word, an apostrophe joins: "don't" is "dont"
		default:
			emit()
		}
	}
	emit()
}

// add spreads a feature of weight w over spread coordinates, each picked
// with its sign by rehashing h, with weight w/sqrt(spread) (the feature's
// norm stays w). One coordinate per feature is the plain hashing trick; with
// 384 coordinates two unrelated words then land on the same one often
// enough that "legs" looked like "harmonicas". Spreading each feature makes
// a collision cost a fraction of a feature instead of all of it (a sparse
// Johnson-Lindenstrauss projection, Kane and Nelson 2014).
func (l *Local) add(v []float32, h uint64, w float64, spread int) {
	w /= math.Sqrt(float64(spread))
	for range spread {
		// Multiply-shift maps the high bits uniformly onto [0, dims); the
		// low bit, independent of them, is the sign.
		i := (h >> 32) * uint64(l.dims) >> 32
		if h&1 == 0 {
			v[i] += float32(w)
		} else {
			v[i] -= float32(w)
		}
		h = finalize(h + 0x9E3779B97F4A7C15)
	}
}

// How many coordinates each kind of feature is spread over: words and
// pairs weigh most, so their collisions matter most; a word's n-grams are
// many and light already.
const (
	spreadWord = 4
	spreadGram = 2
)

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// Feature tags keep a word apart from an n-gram with the same letters.
const (
	tagWord byte = 'w'
	tagGram byte = 'g'
)

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashRunes(tag byte, rs []rune) uint64 {
	h := uint64(fnvOffset)
	h = (h ^ uint64(tag)) * fnvPrime
	var b [4]byte
	for _, r := range rs {
		n := utf8.EncodeRune(b[:], r)
		for _, c := range b[:n] {
			h = (h ^ uint64(c)) * fnvPrime
		}
	}
	return finalize(h)
}

func hashBytes(tag byte, bs []byte) uint64 {
	h := uint64(fnvOffset)
	h = (h ^ uint64(tag)) * fnvPrime
	for _, c := range bs {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return finalize(h)
}

// mix hashes an ordered pair of hashes.
func mix(a, b uint64) uint64 {
	return finalize(a*0x9E3779B97F4A7C15 ^ b)
}

// finalize is splitmix64's output function: FNV's high bits are weak for
// short inputs, and add takes the coordinate from them.
func finalize(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 27
	h *= 0x94D049BB133111EB
	h ^= h >> 31
	return h
}

// stopWords are English function words: they carry little of what a memory
// is about, so they weigh little (they still count, so "not" is not lost).
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{"a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by",
		"for", "with", "from", "as", "is", "are", "was", "were", "be", "been", "am", "it", "its", "this", "that",
		"these", "those", "there", "here", "i", "you", "he", "she", "we", "they", "me", "him", "her", "us",
		"them", "my", "your", "his", "our", "their", "do", "does", "did", "have", "has", "had", "so", "just",
		"what", "who", "whom", "which", "where", "when", "why", "how", "all", "any", "some", "no", "not",
		"can", "could", "would", "should", "will", "shall", "may", "might", "must", "about", "into", "up",
		"out", "then", "than", "too", "very", "oh", "ok", "okay", "yeah", "im", "youre", "dont", "its"} {
		m[w] = true
	}
	return m
}()

// commonWords are frequent English words that are not function words:
// they carry some meaning but match too much to say which memory is meant
// (a static stand-in for the idf an embedder of single texts cannot know).
var commonWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`know think want get got go going went gone come came say said tell told
		see saw seen look looked make made take took give gave find found keep kept leave left put let like
		remember forget thing things something anything nothing everything way time day night today tonight
		now still again back well good bad right really maybe never always ever also even much many more most
		other another one two first last little long new old big only own same such sure thought yes
		people man woman guy guys kind lot bit place anyone someone everyone need needed try tried work
		talk talked call called feel felt mean meant wait ask asked use used`) {
		m[w] = true
	}
	return m
}()

// StopWords reports whether w (lower case) is an English function word.
func StopWords(w string) bool { return stopWords[w] }

func isStopWord(word []rune) bool { return inSet(stopWords, word) }

func isCommonWord(word []rune) bool { return inSet(commonWords, word) }

func inSet(set map[string]bool, word []rune) bool {
	if len(word) > 10 {
		return false
	}
	var b [40]byte
	s := b[:0]
	for _, r := range word {
		s = utf8.AppendRune(s, r)
	}
	return set[string(s)]
}

// Words splits text into the words the embedder sees: runs of letters and
// digits, lower case, apostrophes inside a word dropped ("Don't" is
// "dont"). The store's lexical search uses the same rule, so a word the
// embedder sees is a word the lexical index can match.
func Words(text string) []string {
	var out []string
	var word []rune
	flush := func() {
		if len(word) > 0 {
			out = append(out, string(word))
			word = word[:0]
		}
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			word = append(word, unicode.ToLower(r))
		case r == '\'' || r == '’':
		default:
			flush()
		}
	}
	flush()
	return out
}

// Stem folds English plurals onto the singular, with Harman's S-stemmer
// (1991): "passports" and "passport" are one word, "stories" is "story",
// "houses" is "house". It is deliberately weak (no "-ed", no "-ing"): a
// wrong merge costs precision, and the character n-grams bridge other word
// forms. w is lower case (as Words gives it).
func Stem(w string) string {
	n := len(w)
	switch {
	case n <= 3:
		return w
	case strings.HasSuffix(w, "ies") && !strings.HasSuffix(w, "eies") && !strings.HasSuffix(w, "aies"):
		return w[:n-3] + "y"
	case strings.HasSuffix(w, "es") && !strings.HasSuffix(w, "aes") && !strings.HasSuffix(w, "ees") && !strings.HasSuffix(w, "oes"):
		return w[:n-1]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "ss"):
		return w[:n-1]
	}
	return w
}

// stemRunes is Stem on a word held as runes (word itself when unchanged).
func stemRunes(word []rune) []rune {
	n := len(word)
	if n <= 3 || word[n-1] != 's' {
		return word
	}
	st := Stem(string(word))
	if len(st) == n { // ASCII-only suffix rules: the byte length tells
		return word
	}
	return []rune(st)
}
