package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"diorama/core"
	"diorama/store"
)

// A synthetic campaign for the memory tests: thousands of turns of road-trip
// chatter among the cast (you, mara, jun) in scenes where only some of them
// are present, with facts planted at known turns in front of known
// witnesses, and, for each fact, lines that mention the same object or place
// in passing (so the fact has to win on more than one shared word).

var (
	fillOpeners = []string{"Honestly,", "Look,", "Wait,", "Remember when", "Dude,", "Sure.", "Okay, so", "Listen,", "Funny thing:", "Ugh,"}
	fillMiddles = []string{"the radio keeps cutting out", "we passed that diner twice", "the lake is further than the map says",
		"nobody bought coffee", "your phone has no signal out here", "the gas light came on an hour ago",
		"there was a deer on the shoulder", "the stars are unreal tonight", "I can't feel my legs", "the cooler is leaking again",
		"this song is older than both of us", "the motel sign said vacancy", "my sandwich is mostly lettuce",
		"the fog is coming in off the water", "you drive like my grandmother", "we should have turned left"}
	fillEnders = []string{"and I'm not saying it again.", "— just saying.", "so keep your eyes on the road.", "right?",
		"which is classic.", "and that's fine.", "if you want my opinion.", "*shrugs*", "*laughs*", "before midnight."}
	// Lines a significance heuristic rates high, so auto-pinned memories
	// compete with the facts.
	fillHeavy = []string{"I swear I never told anyone about the crash, not even my mother!",
		"If you ever betray me like that again, I'm leaving, I promise you.",
		"The truth is I got fired three weeks ago and I'm drowning in debt."}

	// Objects. Every sixth one, from the third, is asked for in the plural
	// ("passports"): one word that no lexical index matches, which only
	// the vector part can find.
	objects = []string{"spare key", "wedding ring", "passport", "pocket watch", "recipe book", "camera", "silver locket",
		"bus ticket", "harmonica", "music box", "cassette tape", "pocketknife", "birthday card", "wool scarf", "flashlight",
		"violin bow", "chess set", "sketchbook", "compass", "lottery ticket", "bracelet", "fountain pen", "snow globe",
		"motel receipt", "polaroid", "telescope", "medal", "guitar pick", "diary", "train pass", "envelope of cash",
		"bottle of whiskey", "seashell", "hearing aid", "dog tag", "rosary", "map of the caves", "baseball glove", "thermos", "toy robot"}
	// Places, each with the word a query names it by.
	places = [][2]string{
		{"under the blue flowerpot by the porch", "flowerpot"}, {"in the glovebox behind the manual", "glovebox"},
		{"inside the hollow oak at the lookout", "oak"}, {"in the freezer under the peas", "freezer"},
		{"behind the loose brick in the chimney", "brick"}, {"taped under the third booth at the diner", "booth"},
		{"in the lining of the green suitcase", "suitcase"}, {"beneath the floorboard in the attic", "floorboard"},
		{"inside the piano bench", "piano"}, {"in the tackle box on the boat", "tackle"},
		{"behind the mirror in the motel bathroom", "bathroom"}, {"under the spare tire in the trunk", "tire"},
		{"in the mailbox at the crossroads", "mailbox"}, {"inside the hatbox on the wardrobe", "wardrobe"},
		{"buried by the birch near the lake", "birch"}, {"in the toe of the red boot", "boot"},
		{"behind the painting of the lighthouse", "lighthouse"}, {"in the coffee tin on the shelf", "tin"},
		{"under the mattress in the cabin", "mattress"}, {"inside the broken jukebox", "jukebox"},
		{"in the pocket of the yellow raincoat", "raincoat"}, {"under the dashboard of the van", "dashboard"},
		{"in the bird feeder by the gate", "feeder"}, {"between the pages of the atlas", "atlas"},
		{"in the drawer of the night stand", "drawer"}, {"inside the cookie jar shaped like a cat", "jar"},
		{"behind the vending machine at the gas station", "vending"}, {"in the hollow of the stone wall", "wall"},
		{"under the welcome mat of the cabin", "mat"}, {"inside the canoe paddle", "paddle"},
		{"in the chimney of the dollhouse", "dollhouse"}, {"beneath the rowboat on the shore", "rowboat"},
		{"in the glove of the scarecrow", "scarecrow"}, {"behind the radiator in the hallway", "radiator"},
		{"inside the fire extinguisher case", "extinguisher"}, {"under the bench at the bus stop", "bus stop"},
		{"in the sugar bowl at the diner", "sugar bowl"}, {"in the pocket of the leather jacket", "jacket"},
		{"inside the hollow bedpost", "bedpost"}, {"in the flour sack in the pantry", "pantry"},
	}
)

// plantedFact is a fact said in front of its witnesses, and a later query
// that names it.
type plantedFact struct {
	id      int64 // the memory (event seq)
	turn    int
	mask    core.Mask
	text    string
	query   string
	byPlace bool // the query names the place, not the object
}

// campaign is a generated save.
type campaign struct {
	s        *store.Store
	path     string
	facts    []plantedFact
	memories int
}

// present sets of a scene and their masks: you=1, mara=2, jun=4.
var sceneCasts = []struct {
	who  []string
	mask core.Mask
}{
	{[]string{"you", "mara", "jun"}, 7}, {[]string{"you", "mara", "jun"}, 7},
	{[]string{"you", "mara"}, 3}, {[]string{"you", "jun"}, 5}, {[]string{"mara", "jun"}, 6},
}

// buildCampaign writes turns turns (about 3 lines each) with nFacts facts
// planted in the first 90% of them.
func buildCampaign(tb testing.TB, turns, nFacts int, seed uint64) *campaign {
	tb.Helper()
	ctx := context.Background()
	s, path := newSave(tb)
	eng := mustEngine(tb, s, store.DefaultBranch)
	r := rand.New(rand.NewPCG(seed, 99))
	if nFacts > len(objects) {
		nFacts = len(objects)
	}
	// Which turns get a fact.
	plantAt := map[int]int{}
	for i, t := range r.Perm(turns * 9 / 10)[:nFacts] {
		plantAt[t] = i
	}
	placeOf := r.Perm(len(places))
	// Which turns mention an object or place in passing.
	mention := map[int]string{}
	for i := 0; i < nFacts; i++ {
		for range 4 {
			mention[r.IntN(turns)] = "Have you seen my " + objects[i] + "? Never mind, it's probably nowhere."
		}
		for range 2 {
			mention[r.IntN(turns)] = "I swear the " + places[placeOf[i]][1] + " looked different yesterday."
		}
	}
	c := &campaign{s: s, path: path}
	cast := sceneCasts[0]
	clock := eng.State().Clock
	for t := 0; t < turns; t++ {
		if t%20 == 0 {
			cast = sceneCasts[r.IntN(len(sceneCasts))]
		}
		var drafts []core.Draft
		line := func(who, text string) {
			drafts = append(drafts, core.Draft{Type: core.TypeLineSaid, Payload: &core.LineSaid{Who: who, Text: text},
				Mask: cast.mask, WorldTime: clock})
		}
		n := 2 + r.IntN(2)
		factAt := -1
		if _, ok := plantAt[t]; ok {
			factAt = r.IntN(n)
		}
		for i := 0; i < n; i++ {
			who := cast.who[r.IntN(len(cast.who))]
			switch {
			case i == factAt:
				fi := plantAt[t]
				obj, place, key := objects[fi], places[placeOf[fi]][0], places[placeOf[fi]][1]
				text := []string{
					"Okay, listen: I hid the %s %s. Don't touch it.",
					"For the record, the %s is %s, in case I forget.",
					"I put the %s %s last night, so nobody would find it.",
				}[fi%3]
				f := plantedFact{turn: t, mask: cast.mask, text: fmt.Sprintf(text, obj, place), byPlace: fi%2 == 1}
				// The query names the fact in other words: by a word of its
				// place, or by its object, in the plural a third of the time
				// ("keys" is not "key" to a lexical index).
				if f.byPlace {
					f.query = "What did we stash by the " + key + "?"
				} else {
					if fi%3 == 2 {
						obj = plural(obj)
					}
					f.query = []string{"Where did I hide the %s?", "Where are the %s now?", "Do you remember where we left the %s?"}[fi%3]
					f.query = fmt.Sprintf(f.query, obj)
				}
				c.facts = append(c.facts, f)
				line(who, f.text)
			case i == 0 && mention[t] != "":
				line(who, mention[t])
			case r.IntN(40) == 0:
				line(who, fillHeavy[r.IntN(len(fillHeavy))])
			default:
				line(who, fmt.Sprintf("%s %s %s", fillOpeners[r.IntN(len(fillOpeners))], fillMiddles[r.IntN(len(fillMiddles))],
					fillEnders[r.IntN(len(fillEnders))]))
			}
		}
		clock += 2
		drafts = append(drafts, core.Draft{Type: core.TypeTimeAdvanced, Payload: &core.TimeAdvanced{Minutes: 2}, Mask: core.MaskAll, WorldTime: clock})
		evs, err := eng.Append(ctx, drafts)
		if err != nil {
			tb.Fatalf("turn %d: %v", t, err)
		}
		for _, e := range evs {
			if e.Type != core.TypeLineSaid {
				continue
			}
			c.memories++
			for i := range c.facts {
				if c.facts[i].id == 0 && c.facts[i].turn == t {
					p, _ := e.Decode()
					if p.(*core.LineSaid).Text == c.facts[i].text {
						c.facts[i].id = e.Seq
					}
				}
			}
		}
	}
	for _, f := range c.facts {
		if f.id == 0 {
			tb.Fatalf("fact %q was not written", f.text)
		}
	}
	return c
}

// testScorer is a stand-in for the Lua heuristic: the stakes words of
// std.significance, in Go, so store tests need no pack.
type testScorer struct{}

func (testScorer) Model() string { return "test-heuristic" }

func (testScorer) Score(_ context.Context, text string) (float64, string, error) {
	v := 2.0
	lower := strings.ToLower(text)
	for _, w := range []string{"never told", "swear", "crash", "betray", "promise", "truth", "fired", "debt", "hid", "don't"} {
		if strings.Contains(lower, w) {
			v += 2
		}
	}
	return min(v, 10), "", nil
}

// startWorkers starts the workers with the test scorer and stops them when
// the test ends.
func startWorkers(tb testing.TB, s *store.Store) *store.Workers {
	tb.Helper()
	w := s.StartWorkers(store.WorkerOptions{Scorer: testScorer{}})
	tb.Cleanup(func() { w.Close() })
	return w
}

// catchUp runs the workers until they have nothing left to do, then stops
// them: between two calls nothing changes the file behind the test.
func catchUp(t *testing.T, s *store.Store) {
	t.Helper()
	w := s.StartWorkers(store.WorkerOptions{Scorer: testScorer{}})
	defer w.Close()
	if err := w.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// plural makes the head noun of an object plural: "map of the caves" ->
// "maps of the caves", "wool scarf" -> "wool scarfs".
func plural(obj string) string {
	head, rest, _ := strings.Cut(obj, " of ")
	switch {
	case strings.HasSuffix(head, "s"), strings.HasSuffix(head, "x"), strings.HasSuffix(head, "sh"), strings.HasSuffix(head, "ch"):
		head += "es"
	default:
		head += "s"
	}
	if rest != "" {
		return head + " of " + rest
	}
	return head
}
