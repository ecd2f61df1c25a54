package core

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNotQueued is what a scripted generator returns when a test queued
// nothing for a request; for a scene summary the engine then falls back to
// the offline summariser, so summaries never fail a pack test.
var ErrNotQueued = errors.New("nothing queued")

// closeScene drafts the scene_ended event for a scene that closed during
// the turn (a location change of the player, or end_scene/jump already
// drafted) and each bot's own summary of it.
func (p *pendingTurn) sceneClosed(ctx context.Context, prev *State, cause int) error {
	if p.s.Generator == nil {
		return nil
	}
	st := p.scratch
	for _, bot := range st.Cast.Bots {
		if err := p.summarize(ctx, prev, bot, cause); err != nil {
			return err
		}
	}
	return nil
}

// summarize writes bot's summary of the scene that just closed, from the
// lines it witnessed in it. A bot that witnessed nothing gets none.
func (p *pendingTurn) summarize(ctx context.Context, prev *State, bot string, cause int) error {
	bit := prev.Cast.Bit(bot)
	var lines []Line
	if p.s.Recall != nil {
		got, err := p.s.Recall.RecentLines(ctx, Mask(1<<bit), 400)
		if err != nil {
			return fmt.Errorf("summary for %s: %w", bot, err)
		}
		lines = got
	}
	lines = append(lines, p.lines...)
	sortLinesByID(lines)
	var scene []Line
	for _, l := range lines {
		if (l.ID < 0 || l.ID > prev.SceneStart) && l.Mask.Has(bit) {
			scene = append(scene, l)
		}
	}
	if len(scene) == 0 {
		return nil
	}
	closed := closedProps(p.scratch)
	facts := POVFacts(prev, bot, scene, nil, "")
	facts["closed_props"] = stringsAny(closed)
	facts["gists"] = stringsAny(gists(p.scratch))
	text, err := p.summaryText(ctx, bot, facts, prev, scene, closed)
	if err != nil {
		return err
	}
	_, err = p.add(Draft{Type: TypeSummaryWritten, Payload: &SummaryWritten{Who: bot, Scene: prev.Scene, Text: text},
		Mask: p.scratch.Cast.MaskOf(bot), WorldTime: p.scratch.Clock, CausedByIndex: cause})
	return err
}

// summaryText asks the generator for the summary; the offline renderer, a
// scripted backend with nothing queued, or an empty answer fall back to the
// deterministic offline summariser. A model failure fails the turn like a
// failed reply (nothing half-written).
func (p *pendingTurn) summaryText(ctx context.Context, bot string, facts map[string]any, prev *State, scene []Line, closed []string) (string, error) {
	offline := func() string { return OfflineSummary(prev, bot, scene, closed, gists(p.scratch)) }
	if p.s.Generator.Name() == "offline" || p.s.Rules == nil {
		return offline(), nil
	}
	v, err := p.s.Rules.Template(ctx, "summary", facts)
	if err != nil {
		return "", fmt.Errorf("summary template for %s: %w", bot, err)
	}
	secs, err := SectionsFromValue(v)
	if err != nil {
		return "", fmt.Errorf("summary template: %w", err)
	}
	count := p.s.Count
	if count == nil {
		count = EstimateTokens
	}
	pr, err := BuildPrompt(secs, p.s.budget(), count)
	if err != nil {
		return "", fmt.Errorf("summary prompt for %s: %w", bot, err)
	}
	text, err := p.s.generate(ctx, GenRequest{Messages: pr.Messages, Params: GenParams{MaxTokens: 300, Temperature: 0.4},
		Purpose: PurposeSummary, Speaker: bot, Facts: facts}, nil)
	switch {
	case errors.Is(err, ErrNotQueued):
		return offline(), nil
	case err != nil:
		return "", fmt.Errorf("%s's summary of the scene: %w", prev.Entities[bot].Name, err)
	case strings.TrimSpace(text) == "":
		return offline(), nil
	}
	return text, nil
}

// closedProps are the props of story events that ended without being
// promoted: gone from the world, never to be mentioned again.
func closedProps(st *State) []string {
	var out []string
	for _, id := range sortedKeys(st.Events) {
		ev := st.Events[id]
		if ev.Status == EventCompleted || ev.Status == EventCancelled {
			out = append(out, ev.Props...)
		}
	}
	return out
}

// gists are the narrative gists of ended story events: what survives of them.
func gists(st *State) []string {
	var out []string
	for _, id := range sortedKeys(st.Events) {
		ev := st.Events[id]
		if ev.Status == EventCompleted && ev.Gist != "" {
			out = append(out, ev.Gist)
		}
	}
	return out
}

// mentionsAny reports whether text names any of the props (as an id, as
// words, or by its last word: "picnic_basket" matches "the basket").
func mentionsAny(text string, props []string) bool {
	if len(props) == 0 {
		return false
	}
	lower := strings.ToLower(text)
	for _, p := range props {
		for _, form := range propForms(p) {
			if wordIndex(lower, form) >= 0 {
				return true
			}
		}
	}
	return false
}

func propForms(p string) []string {
	p = strings.ToLower(p)
	words := strings.FieldsFunc(p, func(r rune) bool { return r == '_' || r == '-' || r == ' ' })
	forms := []string{p, strings.Join(words, " ")}
	if len(words) > 1 {
		forms = append(forms, words[len(words)-1])
	}
	return forms
}

// OfflineSummary is the deterministic summariser used without a model: who
// said what in the scene, from bot's point of view, in a few clipped lines,
// with the gists of ended events. Lines naming a closed prop are left out,
// so an ended event's props never come back through a summary.
func OfflineSummary(st *State, bot string, scene []Line, closed, gists []string) string {
	name := func(id string) string {
		if e := st.Entities[id]; e != nil {
			return e.Name
		}
		return id
	}
	place := st.Entities[bot].Location
	if l := st.Locations[place]; l != nil {
		place = l.Name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Scene %d, %s, as %s remembers it:", st.Scene, place, name(bot))
	var kept []Line
	for _, l := range scene {
		if !mentionsAny(l.Text, closed) {
			kept = append(kept, l)
		}
	}
	// The first lines set the scene, the last ones how it ended.
	if len(kept) > 6 {
		kept = append(append([]Line(nil), kept[:3]...), kept[len(kept)-3:]...)
	}
	for _, l := range kept {
		fmt.Fprintf(&b, " %s: %q", name(l.Who), clip(strings.ReplaceAll(l.Text, "\n", " "), 90))
	}
	for _, g := range gists {
		if !mentionsAny(g, closed) {
			fmt.Fprintf(&b, " (%s)", g)
		}
	}
	return b.String()
}

// budget is the prompt budget in tokens.
func (s *Session) budget() int {
	if s.Context <= 0 {
		return 8192 - 512
	}
	return s.Context - s.ReplyReserve
}

// filterClosed drops recalled memories that name a closed prop: stale
// state must not come back through retrieval.
func filterClosed(mems []Recalled, closed []string) []Recalled {
	if len(closed) == 0 {
		return mems
	}
	out := mems[:0:0]
	for _, m := range mems {
		if !mentionsAny(m.Text, closed) {
			out = append(out, m)
		}
	}
	return out
}

var _ = sort.Strings
