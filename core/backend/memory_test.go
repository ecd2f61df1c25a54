package backend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"diorama/core"
	"diorama/core/backend"
)

// embServer answers /v1/embeddings with handler.
func embServer(t *testing.T, handler func(w http.ResponseWriter, inputs []string)) *backend.Embeddings {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/embeddings") {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "emb" {
			http.Error(w, "bad request", 400)
			return
		}
		handler(w, req.Input)
	}))
	t.Cleanup(srv.Close)
	e, err := backend.NewEmbeddings(backend.BackendConfig{Name: "test", BaseURL: srv.URL + "/v1", MaxAttempts: 3}, "emb",
		backend.WithBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type embItem struct {
	Index     int       `json:"index"`
	Embedding []float64 `json:"embedding"`
}

func writeEmb(w http.ResponseWriter, items []embItem) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": items, "model": "emb"})
}

func TestEmbeddings(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		// Answers in reverse order: the client puts them back in input order.
		e := embServer(t, func(w http.ResponseWriter, in []string) {
			var items []embItem
			for i := len(in) - 1; i >= 0; i-- {
				items = append(items, embItem{Index: i, Embedding: []float64{float64(len(in[i])), 1, 0}})
			}
			writeEmb(w, items)
		})
		texts := make([]string, 150) // three batches
		for i := range texts {
			texts[i] = strings.Repeat("x", i+1)
		}
		vs, err := e.Embed(ctx, texts)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 150 || vs[0][0] != 1 || vs[149][0] != 150 {
			t.Fatalf("got %d vectors, first %v, last %v", len(vs), vs[0], vs[len(vs)-1])
		}
		if m := e.Model(); !strings.HasPrefix(m, "emb@127.0.0.1:") || !strings.HasSuffix(m, "/v1") {
			t.Fatalf("model %q", m)
		}
	})
	t.Run("RetriesServerError", func(t *testing.T) {
		var calls atomic.Int32
		e := embServer(t, func(w http.ResponseWriter, in []string) {
			if calls.Add(1) == 1 {
				http.Error(w, "loading model", 503)
				return
			}
			writeEmb(w, []embItem{{0, []float64{1, 0}}})
		})
		if _, err := e.Embed(ctx, []string{"a"}); err != nil || calls.Load() != 2 {
			t.Fatalf("err %v after %d calls", err, calls.Load())
		}
	})
	for name, items := range map[string][]embItem{
		"TooFew":     {},
		"NaN":        {{0, []float64{math.Inf(1), 1}}},
		"Zero":       {{0, []float64{0, 0}}},
		"Empty":      {{0, []float64{}}},
		"BadIndex":   {{5, []float64{1}}},
		"MixedDims":  {{0, []float64{1}}, {1, []float64{1, 2}}},
		"SameIndex":  {{1, []float64{1}}, {1, []float64{1}}},
		"TooManyVec": {{0, []float64{1}}, {1, []float64{1}}, {2, []float64{1}}},
	} {
		t.Run("Malformed"+name, func(t *testing.T) {
			e := embServer(t, func(w http.ResponseWriter, in []string) { writeEmb(w, items) })
			n := 2
			if name == "NaN" || name == "Zero" || name == "Empty" || name == "BadIndex" {
				n = 1
			}
			_, err := e.Embed(ctx, make([]string, n))
			if !errors.Is(err, backend.ErrMalformed) || !errors.Is(err, core.ErrUnavailable) {
				t.Fatalf("err = %v, want a malformed-answer GenError", err)
			}
		})
	}
	t.Run("NotFound", func(t *testing.T) {
		e := embServer(t, func(w http.ResponseWriter, in []string) { http.Error(w, `{"error":"model not found"}`, 404) })
		_, err := e.Embed(ctx, []string{"a"})
		var ge *backend.GenError
		if !errors.As(err, &ge) || ge.Status != 404 {
			t.Fatalf("err = %v, want a 404 GenError", err)
		}
	})
	t.Run("DimensionsMustNotChange", func(t *testing.T) {
		var calls atomic.Int32
		e := embServer(t, func(w http.ResponseWriter, in []string) {
			v := []float64{1, 2}
			if calls.Add(1) > 1 {
				v = []float64{1, 2, 3}
			}
			writeEmb(w, []embItem{{0, v}})
		})
		if _, err := e.Embed(ctx, []string{"a"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Embed(ctx, []string{"b"}); !errors.Is(err, backend.ErrMalformed) {
			t.Fatalf("err = %v, want malformed (dimension changed)", err)
		}
	})
}

// jsonDoer answers every request with a 200 JSON body.
type jsonDoer struct{ body []byte }

func (d jsonDoer) Do(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(d.body)), Request: r}, nil
}

// FuzzEmbeddingsResponse feeds arbitrary bytes as the body of a 200
// embeddings answer to three texts: Embed must not panic or hang, and what
// it accepts is three finite, non-zero vectors of one dimension; what it
// refuses is a GenError.
func FuzzEmbeddingsResponse(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[3,4]},{"index":2,"embedding":[5,6]}]}`,
		`{"data":[{"embedding":[1]},{"embedding":[2]},{"embedding":[3]}]}`,
		`{"data":[{"index":2,"embedding":[1]},{"index":0,"embedding":[2]},{"index":1,"embedding":[3]}]}`,
		`{"data":[{"index":0,"embedding":[1e40]}]}`,
		`{"data":null}`, `[]`, `{"error":{"message":"x"}}`, ``, `{"data":[{"index":-1,"embedding":[1]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := backend.NewEmbeddings(backend.BackendConfig{Name: "fuzz", BaseURL: "http://127.0.0.1:1/v1", MaxAttempts: 1}, "m",
			backend.WithHTTPDoer(jsonDoer{body}))
		if err != nil {
			t.Fatal(err)
		}
		vs, err := e.Embed(context.Background(), []string{"a", "b", "c"})
		if err != nil {
			var ge *backend.GenError
			if !errors.As(err, &ge) {
				t.Fatalf("error %v (%T) is not a GenError", err, err)
			}
			return
		}
		if len(vs) != 3 {
			t.Fatalf("%d vectors for 3 texts", len(vs))
		}
		for _, v := range vs {
			if len(v) == 0 || len(v) != len(vs[0]) {
				t.Fatalf("dimensions %d and %d", len(v), len(vs[0]))
			}
			nonzero := false
			for _, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					t.Fatal("non-finite value accepted")
				}
				nonzero = nonzero || x != 0
			}
			if !nonzero {
				t.Fatal("zero vector accepted")
			}
		}
	})
}

func TestParseSignificance(t *testing.T) {
	for in, want := range map[string]int{
		"7": 7, " 10\n": 10, "7/10": 7, "7 / 10": 7, "**8**": 8, "`3`": 3, "\"5\"": 5, "9.": 9,
		"<think>It is a confession, so high.</think>\n9": 9, "1": 1,
	} {
		got, err := backend.ParseSignificance(in)
		if err != nil || got != want {
			t.Errorf("ParseSignificance(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "  ", "0", "11", "7.5", "seven", "7, because it is a promise", "between 6 and 8",
		"Score: 7", "-3", "7/9", "<think>unfinished", "77", "1 0"} {
		if got, err := backend.ParseSignificance(in); err == nil {
			t.Errorf("ParseSignificance(%q) = %d, want an error", in, got)
		}
	}
}

func FuzzParseSignificance(f *testing.F) {
	for _, s := range []string{"7", "10/10", "<think>x</think>3", "**2**", "seven", "7.5", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := backend.ParseSignificance(s)
		if err == nil && (v < 1 || v > 10) {
			t.Fatalf("ParseSignificance(%q) = %d, out of 1..10", s, v)
		}
	})
}

// answerGen answers every generation with text (or fails with err).
type answerGen struct {
	text  string
	err   error
	calls int
}

func (g *answerGen) Name() string { return "fake:model" }

func (g *answerGen) Generate(ctx context.Context, req core.GenRequest) (core.TextStream, error) {
	g.calls++
	if req.Purpose != core.PurposeSignificance {
		return nil, errors.New("wrong purpose " + req.Purpose)
	}
	if g.err != nil {
		return nil, g.err
	}
	return &onceStream{text: g.text}, nil
}

type onceStream struct {
	text string
	done bool
}

func (s *onceStream) Recv() (string, error) {
	if s.done {
		return "", io.EOF
	}
	s.done = true
	return s.text, nil
}

func (s *onceStream) Close() error { return nil }

type fixedHeuristic struct{}

func (fixedHeuristic) Model() string { return "heuristic:test" }

func (fixedHeuristic) Score(context.Context, string) (float64, string, error) { return 4, "", nil }

func TestSignificanceScorer(t *testing.T) {
	ctx := context.Background()
	g := &answerGen{text: "8"}
	s := &backend.SignificanceScorer{Gen: g, Fallback: fixedHeuristic{}}
	if v, src, err := s.Score(ctx, "I promise"); err != nil || v != 8 || src != "" {
		t.Fatalf("model answer: %v %q %v", v, src, err)
	}
	if m := s.Model(); !strings.HasPrefix(m, "fake:model/") {
		t.Fatalf("model %q", m)
	}
	g.text = "Probably an 8, it is a promise."
	if v, src, err := s.Score(ctx, "I promise"); err != nil || v != 4 || !strings.Contains(src, "heuristic:test") {
		t.Fatalf("unreadable answer should fall back: %v %q %v", v, src, err)
	}
	g.err = core.ErrUnavailable
	if _, _, err := s.Score(ctx, "I promise"); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("a failed generation is an error (retried later), got %v", err)
	}
	// With the scripted and offline backends there is no model to ask.
	calls := g.calls
	off := &backend.SignificanceScorer{Gen: backend.NewScripted(), Fallback: fixedHeuristic{}}
	if v, _, err := off.Score(ctx, "x"); err != nil || v != 4 || off.Model() != "heuristic:test" {
		t.Fatalf("scripted: %v %v model %q", v, err, off.Model())
	}
	if g.calls != calls {
		t.Fatal("scripted backend asked a model")
	}
}
