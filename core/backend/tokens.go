package backend

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Tokenizer counts tokens the way a backend's model does. The OpenAI
// backend implements it: through llama.cpp server's POST /tokenize when the
// backend is llama.cpp (config `tokenizer = "llamacpp"`, or detected), else
// with EstimateTokens. Counts cover the text only, not the chat template's
// per-message tokens: add a few per message (PerMessageTokens).
type Tokenizer interface {
	CountTokens(ctx context.Context, text string) (int, error)
}

// PerMessageTokens is a conservative allowance for the chat template's
// tokens around each message (role markers, separators).
const PerMessageTokens = 8

// EstimateTokens is a conservative token count for text with no tokenizer
// at hand. It is meant never to under-count typical prose, dialogue, code,
// JSON and numbers in English, European languages and CJK for the
// tokenizers of common local and hosted models (Llama 2/3, Mistral, GPT-4's
// cl100k, GPT-4o's o200k); it over-counts English by 10–40%. The rule:
//
//   - a run of letters costs ceil((3·a + 4·b) / 12), at least 1, where a is
//     its ASCII letters and b its bytes of other alphabetic letters (Latin
//     with accents, Greek, Cyrillic, Armenian): about 4 ASCII letters or
//     1.5 Cyrillic letters per token;
//   - every digit is a token (Llama 2 and Mistral split numbers per digit);
//   - every ASCII punctuation, symbol, newline, tab or control is a token;
//   - spaces: one space before a letter is free (it merges into the word);
//     before anything else it is a token; longer runs add ceil((n-1)/4);
//   - each Han, Kana or Bopomofo character, CJK punctuation or full-width
//     form costs 1.5, each Hangul syllable 2 (rounded up over the text);
//   - any other character (other scripts, emoji, symbols) costs one token
//     per UTF-8 byte: older tokenizers fall back to byte tokens for them.
//
// The sum is at least 1 for non-empty text. The tests check the rule
// against counts of those tokenizers on sample texts.
func EstimateTokens(s string) int {
	n, halves := 0, 0
	ascii, other, spaces := 0, 0, 0 // the current letter run and space run
	flushLetters := func() {
		if ascii+other > 0 {
			w := 3 // a short word: 4 ASCII letters per token
			if ascii+other > 6 {
				w = 4 // a long word (often a rare one or a name) splits more: 3 per token
			}
			n += max(1, (w*ascii+4*other+11)/12)
			ascii, other = 0, 0
		}
	}
	flushSpaces := func(beforeLetter bool) {
		if spaces == 0 {
			return
		}
		if !beforeLetter {
			n++
		}
		n += (spaces - 1 + 3) / 4
		spaces = 0
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == ' ':
			flushLetters()
			spaces++
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			flushSpaces(true)
			ascii++
		case r >= 0x80 && r < 0x590 && (unicode.IsLetter(r) || unicode.Is(unicode.Mn, r)):
			flushSpaces(true)
			other += size
		default:
			flushLetters()
			flushSpaces(false)
			switch {
			case r < utf8.RuneSelf:
				n++ // digit, punctuation, symbol, newline, tab, control
			case r == utf8.RuneError && size == 1:
				n++ // one invalid byte
			case unicode.Is(unicode.Hangul, r):
				halves += 4
			case isCJK(r):
				halves += 3
			default:
				n += size
			}
		}
	}
	flushLetters()
	flushSpaces(false)
	n += (halves + 1) / 2
	if n == 0 && s != "" {
		n = 1
	}
	return n
}

// isCJK reports Han, Hiragana, Katakana, Bopomofo, CJK punctuation and
// full-width forms.
func isCJK(r rune) bool {
	switch {
	case r >= 0x3000 && r <= 0x303F, // CJK symbols and punctuation
		r >= 0xFF00 && r <= 0xFFEF: // half-width and full-width forms
		return true
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Bopomofo)
}

// tokenizerState is the OpenAI backend's token-counting state.
type tokenizerState struct {
	detected      bool // llama.cpp detection ran (or the config decided)
	llamacpp      bool
	serverContext int // context the server really uses, from the last probe
	cache         map[string]int
}

// setLlamaCpp records that the server is (not) llama.cpp.
func (c *OpenAI) setLlamaCpp(yes bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg.Tokenizer == TokenizerEstimate {
		return
	}
	c.tok.detected, c.tok.llamacpp = true, yes
}

// CountTokens counts text with llama.cpp server's tokenizer when the
// backend is llama.cpp, else with EstimateTokens. A failing tokenizer
// request is an error: fall back to EstimateTokens.
func (c *OpenAI) CountTokens(ctx context.Context, text string) (int, error) {
	if !c.useLlamaCpp(ctx) {
		return EstimateTokens(text), nil
	}
	c.mu.Lock()
	if n, ok := c.tok.cache[text]; ok {
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := (&LlamaCppTokenizer{BaseURL: c.root(), doer: c}).CountTokens(tctx, text)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	if c.tok.cache == nil || len(c.tok.cache) >= 1024 {
		c.tok.cache = map[string]int{}
	}
	c.tok.cache[text] = n
	c.mu.Unlock()
	return n, nil
}

// useLlamaCpp decides once whether to tokenize through llama.cpp: the
// config says so, or GET /props answers like llama.cpp server.
func (c *OpenAI) useLlamaCpp(ctx context.Context) bool {
	c.mu.Lock()
	switch {
	case c.cfg.Tokenizer == TokenizerLlamaCpp:
		c.mu.Unlock()
		return true
	case c.cfg.Tokenizer == TokenizerEstimate:
		c.mu.Unlock()
		return false
	case c.tok.detected:
		yes := c.tok.llamacpp
		c.mu.Unlock()
		return yes
	}
	c.mu.Unlock()
	if c.hosted() != "" {
		c.setLlamaCpp(false)
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var r ProbeResult
	yes := c.probeLlamaCpp(pctx, c.root(), &r)
	c.setLlamaCpp(yes)
	return yes
}

// LlamaCppTokenizer counts tokens through llama.cpp server's POST /tokenize
// (the text alone: no BOS, no chat template).
type LlamaCppTokenizer struct {
	BaseURL string   // the server root, e.g. http://127.0.0.1:8080 (a trailing /v1 is dropped)
	HTTP    HTTPDoer // nil: a client with short timeouts
	doer    *OpenAI  // when set, requests carry the backend's key and headers
}

var _ Tokenizer = (*LlamaCppTokenizer)(nil)

// CountTokens asks the server to tokenize text.
func (t *LlamaCppTokenizer) CountTokens(ctx context.Context, text string) (int, error) {
	var out struct {
		Tokens []any `json:"tokens"`
	}
	root := strings.TrimSuffix(strings.TrimRight(t.BaseURL, "/"), "/v1")
	body := map[string]any{"content": text}
	var status int
	var err error
	if t.doer != nil {
		status, err = t.doer.doJSON(ctx, http.MethodPost, root+"/tokenize", body, &out)
	} else {
		hc := t.HTTP
		if hc == nil {
			hc = &http.Client{Timeout: 10 * time.Second}
		}
		c := &OpenAI{cfg: BackendConfig{BaseURL: root}, http: &watchDoer{inner: hc}}
		status, err = c.doJSON(ctx, http.MethodPost, root+"/tokenize", body, &out)
	}
	if err != nil {
		return 0, fmt.Errorf("tokenize via %s: %w", root, err)
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("tokenize via %s: status %d", root, status)
	}
	return len(out.Tokens), nil
}
