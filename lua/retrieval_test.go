package lua_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"diorama/lua"
	"diorama/store"
)

func TestRetrievalWeights(t *testing.T) {
	ctx := context.Background()
	t.Run("Defaults", func(t *testing.T) {
		p := mustLoad(t, "", lua.Options{})
		m, err := p.RetrievalWeights(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w, err := store.WeightsFrom(m)
		if err != nil {
			t.Fatal(err)
		}
		// std.retrieval.defaults and store.DefaultWeights must agree: code
		// that runs without a pack ranks as a pack with no retrieval{}.
		if got, want := w, store.DefaultWeights(); got != want {
			t.Fatalf("std.retrieval.defaults = %+v, store.DefaultWeights = %+v", got, want)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := store.WeightKeys()
		slices.Sort(want)
		if !slices.Equal(keys, want) || !slices.Equal(lua.RetrievalFields(), want) {
			t.Fatalf("keys: std.retrieval %v, retrieval{} %v, store %v", keys, lua.RetrievalFields(), want)
		}
	})
	t.Run("Override", func(t *testing.T) {
		p := mustLoad(t, "retrieval{ recency = 0.3, half_life = 720, auto_pin = 0 }\n", lua.Options{})
		m, err := p.RetrievalWeights(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w, err := store.WeightsFrom(m)
		if err != nil {
			t.Fatal(err)
		}
		if w.Recency != 0.3 || w.HalfLife != 720 || w.AutoPin != 0 || w.Vector != store.DefaultWeights().Vector {
			t.Fatalf("weights = %+v", w)
		}
		if at, ok := p.RetrievalDeclared(); !ok || at.Line != 9 {
			t.Fatalf("declared at %v %v, want line 9", at, ok)
		}
	})
	t.Run("Problems", func(t *testing.T) {
		probs := loadErr(t, map[string]string{"pack.lua": baseWorld + `retrieval{ recenty = 0.3, half_life = 0, vector = "high" }
retrieval{ pinned = 1 }
`})
		got := strings.Join(probs, "\n")
		for _, want := range []string{
			`PACK/pack.lua:9: retrieval{}: unknown field "recenty"`, `did you mean "recency"`,
			`PACK/pack.lua:9: retrieval{}: half_life must be at least 1`,
			`PACK/pack.lua:9: retrieval{}: vector: want a number, got a string`,
			`PACK/pack.lua:10: retrieval{}: declared twice (first at PACK/pack.lua:9)`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("problems lack %q:\n%s", want, got)
			}
		}
	})
}

func TestSignificanceHeuristic(t *testing.T) {
	ctx := context.Background()
	p := mustLoad(t, "", lua.Options{})
	h := lua.HeuristicScorer{Pack: func() *lua.Pack { return p }}
	if m := h.Model(); !strings.HasPrefix(m, "heuristic:std.significance@") {
		t.Fatalf("model %q", m)
	}
	small, _, err := h.Score(ctx, "ok")
	if err != nil {
		t.Fatal(err)
	}
	big, _, err := h.Score(ctx, "Mara, I never told anyone, but I crashed the car the night of the funeral!")
	if err != nil {
		t.Fatal(err)
	}
	if small != 1 || big < 9 {
		t.Fatalf("scores: small talk %v, confession %v", small, big)
	}
	p.Close()
	if _, _, err := h.Score(ctx, "anything"); err == nil {
		t.Fatal("a closed pack should fail to score")
	}
}
