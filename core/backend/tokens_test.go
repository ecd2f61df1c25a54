package backend_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"diorama/core/backend"
)

// TestEstimateTokensCalibration checks the estimate against real
// tokenizers' counts of the samples in testdata/tokens (see its README).
func TestEstimateTokensCalibration(t *testing.T) {
	raw, err := os.ReadFile("testdata/tokens/counts.json")
	if err != nil {
		t.Fatal(err)
	}
	var counts map[string]map[string]int
	if err := json.Unmarshal(raw, &counts); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/tokens/*.txt")
	if len(files) < 10 || len(files) != len(counts) {
		t.Fatalf("%d samples, %d counted: regenerate counts.json", len(files), len(counts))
	}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		est := backend.EstimateTokens(string(text))
		worst, by := 0, ""
		for tok, n := range counts[name] {
			if n > worst {
				worst, by = n, tok
			}
		}
		if est < worst {
			t.Errorf("%s: estimate %d < %d tokens under %s", name, est, worst, by)
		}
		t.Logf("%-14s estimate %4d, worst %4d (%s), ratio %.2f", name, est, worst, by, float64(est)/float64(worst))
	}
}

func TestEstimateTokens(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{" ", 1},
		{"a", 1},
		{"Hello", 2},
		{"Hi there", 3},
		{"Hi you", 2},
		{"12345", 5},
		{"{}", 2},
		{"\n\n", 2},
		{"你好", 3},
		{"안녕", 4},
		{"😀", 4},
		{"\xff", 1},
	} {
		if got := backend.EstimateTokens(tc.in); got != tc.want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	// Monotone under concatenation, roughly: never less than either part.
	a, b := "The rain had not stopped.", " 雨从巴斯托就没停过。"
	if ab := backend.EstimateTokens(a + b); ab < backend.EstimateTokens(a) || ab < backend.EstimateTokens(b) {
		t.Fatal("concatenation counts less than a part")
	}
}

func TestCountTokens(t *testing.T) {
	t.Run("LlamaCppTokenize", func(t *testing.T) {
		f := newFake(t, streamOK("x"))
		calls := 0
		f.handle("/tokenize", func(w http.ResponseWriter, r *http.Request) {
			calls++
			var body struct{ Content string }
			json.NewDecoder(r.Body).Decode(&body)
			toks := make([]int, len(strings.Fields(body.Content)))
			json.NewEncoder(w).Encode(map[string]any{"tokens": toks})
		})
		cfg := testConfig(f.URL)
		cfg.Tokenizer = backend.TokenizerLlamaCpp
		c, _ := newClient(t, cfg)
		for range 2 {
			n, err := c.CountTokens(context.Background(), "one two three")
			if err != nil || n != 3 {
				t.Fatalf("n = %d, err %v", n, err)
			}
		}
		if calls != 1 {
			t.Fatalf("%d /tokenize calls, want 1 (cached)", calls)
		}
	})

	t.Run("DetectedFromProps", func(t *testing.T) {
		f := newFake(t, streamOK("x"))
		f.handle("/props", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"default_generation_settings":{"n_ctx":4096},"total_slots":1}`))
		})
		f.handle("/tokenize", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"tokens":[1,2]}`))
		})
		c, _ := newClient(t, testConfig(f.URL))
		if n, err := c.CountTokens(context.Background(), "whatever text"); err != nil || n != 2 {
			t.Fatalf("n = %d, err %v", n, err)
		}
	})

	t.Run("EstimateElsewhere", func(t *testing.T) {
		f := newFake(t, streamOK("x")) // no /props, no /tokenize
		c, _ := newClient(t, testConfig(f.URL))
		text := "Mara keeps her eyes on the road."
		if n, err := c.CountTokens(context.Background(), text); err != nil || n != backend.EstimateTokens(text) {
			t.Fatalf("n = %d, err %v", n, err)
		}
	})

	t.Run("StandaloneTokenizer", func(t *testing.T) {
		f := newFake(t, streamOK("x"))
		f.handle("/tokenize", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"tokens":[1,2,3,4]}`)) })
		var tok backend.Tokenizer = &backend.LlamaCppTokenizer{BaseURL: f.URL + "/v1"}
		if n, err := tok.CountTokens(context.Background(), "x"); err != nil || n != 4 {
			t.Fatalf("n = %d, err %v", n, err)
		}
	})
}
