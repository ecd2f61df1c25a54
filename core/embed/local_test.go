package embed_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"diorama/core/embed"
)

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func norm(v []float32) float64 { return math.Sqrt(cos(v, v)) }

func TestLocalDeterministicAndNormalised(t *testing.T) {
	l := embed.NewLocal(0)
	if got, want := l.Dims(), embed.DefaultDims; got != want {
		t.Fatalf("dims = %d, want %d", got, want)
	}
	a := l.Vector("Mara hid the spare key under the blue flowerpot.")
	b := l.Vector("Mara hid the spare key under the blue flowerpot.")
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("coordinate %d differs between two calls: %v vs %v", i, a[i], b[i])
		}
	}
	if n := norm(a); math.Abs(n-1) > 1e-5 {
		t.Fatalf("norm = %v, want 1", n)
	}
	if z := l.Vector(" ... !!! "); norm(z) != 0 {
		t.Fatalf("a text without words should embed to zeros, norm %v", norm(z))
	}
	if got := l.Model(); !strings.Contains(got, "384") {
		t.Fatalf("model %q does not name its dimension", got)
	}
}

// Texts about the same thing, in other words and word forms, are closer
// than unrelated texts.
func TestLocalSimilarity(t *testing.T) {
	l := embed.NewLocal(0)
	fact := l.Vector("Mara hid the spare key under the blue flowerpot by the door.")
	query := l.Vector("Where did Mara hide the spare keys?")
	other := l.Vector("The radio keeps cutting out and the gas light came on an hour ago.")
	other2 := l.Vector("Jun bought two coffees and a bag of pretzels at the gas station.")
	if s, o := cos(fact, query), math.Max(cos(fact, other), cos(fact, other2)); s <= o+0.15 {
		t.Fatalf("paraphrase similarity %.3f is not clearly above unrelated %.3f", s, o)
	}
	forms, unrelated := cos(l.Vector("flowerpot"), l.Vector("flowerpots")), cos(l.Vector("flowerpot"), l.Vector("carpet"))
	if forms < 0.35 || forms < unrelated+0.3 {
		t.Fatalf("word forms: similarity %.3f (unrelated word %.3f), want >= 0.35 and well above", forms, unrelated)
	}
}

func TestLocalEmbedBatchAndCancel(t *testing.T) {
	l := embed.NewLocal(64)
	vs, err := l.Embed(context.Background(), []string{"one", "two"})
	if err != nil || len(vs) != 2 || len(vs[0]) != 64 {
		t.Fatalf("Embed = %d vectors, err %v", len(vs), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Embed(ctx, make([]string, 200)); err == nil {
		t.Fatal("a cancelled context should stop a long batch")
	}
}

func TestWords(t *testing.T) {
	got := strings.Join(embed.Words("Don't touch Mara's MAP—it's 2 AM!"), " ")
	if want := "dont touch maras map its 2 am"; got != want {
		t.Fatalf("Words = %q, want %q", got, want)
	}
}

func FuzzLocal(f *testing.F) {
	f.Add("Mara hid the key.")
	f.Add("\xff\xfe invalid \x00 utf-8")
	f.Add(strings.Repeat("ab", 20000))
	l := embed.NewLocal(0)
	f.Fuzz(func(t *testing.T, s string) {
		v := l.Vector(s)
		if n := norm(v); n != 0 && math.Abs(n-1) > 1e-4 {
			t.Fatalf("norm %v", n)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatal("non-finite coordinate")
			}
		}
	})
}

func BenchmarkLocal(b *testing.B) {
	l := embed.NewLocal(0)
	text := "Honestly, the radio keeps cutting out and I'm not saying it again. (1234)"
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		l.Vector(text)
	}
}
