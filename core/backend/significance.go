package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"diorama/core"
)

// Fallback is what the significance scorer falls back on when a model
// cannot answer usefully: the pack's Lua heuristic (lua.HeuristicScorer).
type Fallback interface {
	Model() string
	Score(ctx context.Context, text string) (float64, string, error)
}

// SignificanceScorer asks a model how significant a memory is, 1..10, with
// a one-number answer parsed strictly (ParseSignificance). When the answer
// cannot be read, or the generator renders without a model (the offline
// renderer, the scripted backend of pack tests), the fallback scores it
// instead and the score says so. A generation that fails (server down) is
// an error: the significance worker retries later rather than cache a
// heuristic score under the model's name. It satisfies the store's Scorer.
type SignificanceScorer struct {
	Gen      core.Generator
	Fallback Fallback
}

// significanceVersion is part of Model(): a new prompt rescores.
const significanceVersion = "significance-v1"

// Model names the generator and the prompt, for the cache.
func (s *SignificanceScorer) Model() string {
	if s.modelless() {
		return s.Fallback.Model()
	}
	return s.Gen.Name() + "/" + significanceVersion
}

// modelless reports whether the generator has no model to ask.
func (s *SignificanceScorer) modelless() bool {
	n := s.Gen.Name()
	return n == BuiltinOffline || n == BuiltinScripted || strings.HasPrefix(n, BuiltinScripted+":")
}

// significancePrompt is the question. A 1..10 scale with anchors, one
// number back: small local models answer that reliably; longer rubrics
// make them explain instead.
var significancePrompt = []core.Message{
	{Role: "system", Content: "You rate how significant a moment of a story is for the character who remembers it, " +
		"from 1 to 10. 1: small talk, nothing worth remembering. 4: a plan, a preference, a small fact about someone. " +
		"7: a strong feeling shown, a promise, a secret hinted at. 10: a revelation, a confession, a turning point. " +
		"Answer with the number only."},
}

// Score rates one memory.
func (s *SignificanceScorer) Score(ctx context.Context, text string) (float64, string, error) {
	if s.modelless() {
		return s.fallback(ctx, text, "")
	}
	msgs := append(append([]core.Message(nil), significancePrompt...), core.Message{Role: "user", Content: "Memory: " + clip(text, 2000)})
	stream, err := s.Gen.Generate(ctx, core.GenRequest{Messages: msgs, Purpose: core.PurposeSignificance,
		Params: GenParamsSignificance})
	if err != nil {
		return 0, "", fmt.Errorf("ask %s for significance: %w", s.Gen.Name(), err)
	}
	defer stream.Close()
	var b strings.Builder
	for {
		chunk, err := stream.Recv()
		b.WriteString(chunk)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, "", fmt.Errorf("ask %s for significance: %w", s.Gen.Name(), err)
		}
		if b.Len() > 4096 {
			break // an essay is not a number; no need to read it all
		}
	}
	v, perr := ParseSignificance(b.String())
	if perr != nil {
		return s.fallback(ctx, text, perr.Error())
	}
	return float64(v), "", nil
}

// GenParamsSignificance are the parameters of a significance question:
// nearly greedy, and room for a short reasoning block before the number.
var GenParamsSignificance = core.GenParams{MaxTokens: 256, Temperature: 0.1}

func (s *SignificanceScorer) fallback(ctx context.Context, text, why string) (float64, string, error) {
	if s.Fallback == nil {
		return 0, "", fmt.Errorf("significance: %s, and no heuristic to fall back on", why)
	}
	v, _, err := s.Fallback.Score(ctx, text)
	if err != nil {
		return 0, "", err
	}
	src := s.Fallback.Model()
	if why != "" {
		src += " (the model's answer was unreadable)"
	}
	return v, src, nil
}

// Errors of ParseSignificance.
var (
	ErrSignificanceEmpty = errors.New("significance: empty answer")
	ErrSignificanceForm  = errors.New("significance: not a single number from 1 to 10")
)

var (
	reThink       = regexp.MustCompile(`(?s)^\s*<think>.*?</think>`)
	reSignificant = regexp.MustCompile(`^(10|[1-9])(?:\s*/\s*10)?$`)
)

// ParseSignificance reads a model's significance answer strictly: one
// whole number from 1 to 10, optionally written "7/10", optionally wrapped
// in markdown emphasis, quotes or backticks, optionally ending with a
// period, optionally after a reasoning block (<think>…</think>, which some
// local models always emit). Anything else ("7, because…", "between 6 and
// 8", "seven", "11", "7.5") is an error: a guess read out of prose would
// be worse than the heuristic.
func ParseSignificance(answer string) (int, error) {
	s := reThink.ReplaceAllString(answer, "")
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrSignificanceEmpty
	}
	if len(s) > 32 {
		return 0, fmt.Errorf("%w: %q", ErrSignificanceForm, clip(s, 40))
	}
	s = strings.TrimRight(s, ".")
	s = strings.Trim(s, "*_`\"' \t\r\n")
	m := reSignificant.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%w: %q", ErrSignificanceForm, clip(answer, 40))
	}
	v, err := strconv.Atoi(m[1])
	if err != nil || v < 1 || v > 10 {
		return 0, fmt.Errorf("%w: %q", ErrSignificanceForm, clip(answer, 40))
	}
	return v, nil
}
