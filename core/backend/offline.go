package backend

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"diorama/core"
)

// RenderFunc renders one reply from a request's facts without a model (the
// turn loop passes a Lua template over req.Facts).
type RenderFunc func(ctx context.Context, req core.GenRequest) (string, error)

// Offline is the renderer that needs no model: replies come from the world
// state (req.Facts) through render, or, with no render, a plain reply that
// shows the speaker's mood, place and what it holds and acknowledges the
// player's line. State updates are always "[]" (no commands). It is
// deterministic: the same facts give the same text.
type Offline struct {
	render RenderFunc
}

var _ core.Generator = (*Offline)(nil)

// NewOffline returns the offline renderer; render may be nil.
func NewOffline(render RenderFunc) *Offline { return &Offline{render: render} }

// Name is "offline", so every reply it produced is labelled as such.
func (o *Offline) Name() string { return BuiltinOffline }

// Generate renders the text and streams it in chunks.
func (o *Offline) Generate(ctx context.Context, req core.GenRequest) (core.TextStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, &GenError{Backend: BuiltinOffline, What: "generation cancelled", Kind: core.ErrIncomplete, Err: err}
	}
	var text string
	switch normPurpose(req.Purpose) {
	case core.PurposeStateUpdate:
		text = "[]"
	case core.PurposeSignificance:
		text = "0.5"
	default:
		if o.render != nil {
			t, err := o.render(ctx, req)
			if err != nil {
				return nil, &GenError{Backend: BuiltinOffline, What: "the offline template failed", Kind: core.ErrUnavailable, Err: err}
			}
			text = t
		} else if normPurpose(req.Purpose) == core.PurposeSummary {
			text = offlineSummary(req)
		} else {
			text = offlineReply(req)
		}
	}
	if strings.TrimSpace(text) == "" {
		return nil, &GenError{Backend: BuiltinOffline, What: "the offline renderer produced no text", Kind: core.ErrEmpty,
			Hint: "check the pack's offline template"}
	}
	return newTextStream(ctx, text), nil
}

// offlineReply is the plain reply used when no template is supplied:
//
//	*Mara glances over from the driver's seat, tired, holding the map.* "Mm. You said: “…”"
func offlineReply(req core.GenRequest) string {
	sp := asMap(req.Facts["speaker"])
	name := asString(sp["name"])
	if name == "" {
		name = req.Speaker
	}
	if name == "" {
		name = "Someone"
	}
	player := strings.TrimSpace(asString(req.Facts["player_line"]))
	h := fnv.New32a()
	h.Write([]byte(name + "\x00" + player))
	pick := func(opts ...string) string { return opts[h.Sum32()%uint32(len(opts))] }

	var act strings.Builder
	act.WriteString("*")
	act.WriteString(name)
	act.WriteString(" ")
	act.WriteString(pick("glances over", "looks up", "turns a little", "nods slowly"))
	if where := offlineWhere(sp); where != "" {
		act.WriteString(" ")
		act.WriteString(where)
	}
	if mood := asString(sp["mood"]); mood != "" {
		act.WriteString(", ")
		act.WriteString(mood)
	}
	if doing := asString(sp["doing"]); doing != "" {
		act.WriteString(", still ")
		act.WriteString(doing)
	}
	if held := asStrings(sp["holding"]); len(held) > 0 {
		for i, h := range held {
			held[i] = the(h)
		}
		act.WriteString(", holding ")
		act.WriteString(joinAnd(held))
	}
	act.WriteString(".*")

	var say string
	switch {
	case player != "":
		say = fmt.Sprintf("\"%s You said: '%s'\"", pick("Mm.", "Hm.", "Right.", "Okay."), clip(player, 120))
	default:
		var others []string
		for _, p := range asSlice(req.Facts["present"]) {
			if n := asString(p); n != "" {
				others = append(others, n)
			} else if n := asString(asMap(p)["name"]); n != "" {
				others = append(others, n)
			}
		}
		if len(others) > 0 {
			say = fmt.Sprintf("\"%s\" *%s looks at %s.*", pick("Well.", "So.", "Hm."), name, joinAnd(others))
		} else {
			say = "\"...\""
		}
	}
	return act.String() + " " + say
}

// offlineWhere says where the speaker is: "from the driver seat of the
// car", "in the diner".
func offlineWhere(sp map[string]any) string {
	slot := strings.ReplaceAll(asString(sp["slot"]), "_", " ")
	container := asString(sp["container_name"])
	if container == "" {
		container = asString(sp["container"])
	}
	place := asString(sp["location_name"])
	if place == "" {
		place = strings.ReplaceAll(asString(sp["location"]), "_", " ")
	}
	switch {
	case slot != "" && container != "":
		return fmt.Sprintf("from the %s seat of %s", slot, the(container))
	case slot != "":
		return fmt.Sprintf("from the %s seat", slot)
	case container != "":
		return "from " + the(container)
	case place != "":
		return "in " + the(place)
	}
	return ""
}

// the puts "the" before a place ("the car") unless it has its own article
// or is a possessive ("Mara's car", "a booth").
func the(s string) string {
	lower := strings.ToLower(s)
	if s == "" || strings.ContainsRune(s, '\'') ||
		strings.HasPrefix(lower, "the ") || strings.HasPrefix(lower, "a ") || strings.HasPrefix(lower, "an ") {
		return s
	}
	return "the " + s
}

// offlineSummary is a plain per-POV summary: the lines the speaker heard.
func offlineSummary(req core.GenRequest) string {
	var parts []string
	for _, l := range asSlice(req.Facts["lines"]) {
		m := asMap(l)
		who, text := asString(m["name"]), asString(m["text"])
		if who == "" {
			who = asString(m["who"])
		}
		if text != "" {
			parts = append(parts, fmt.Sprintf("%s said %q.", who, clip(text, 80)))
		}
	}
	if len(parts) == 0 {
		return "Nothing much happened."
	}
	if len(parts) > 6 {
		parts = parts[len(parts)-6:]
	}
	return strings.Join(parts, " ")
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func asSlice(v any) []any {
	switch s := v.(type) {
	case []any:
		return s
	case []string:
		out := make([]any, len(s))
		for i, x := range s {
			out[i] = x
		}
		return out
	case []map[string]any:
		out := make([]any, len(s))
		for i, x := range s {
			out[i] = x
		}
		return out
	}
	return nil
}

func asStrings(v any) []string {
	var out []string
	for _, x := range asSlice(v) {
		if s := asString(x); s != "" {
			out = append(out, strings.ReplaceAll(s, "_", " "))
		}
	}
	return out
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
