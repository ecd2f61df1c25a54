// Package cards reads the character cards, lorebooks and chats that
// roleplayers bring from SillyTavern and its peers, writes them as a
// diorama world pack, and writes a pack's character back as a card.
//
// Formats read: Tavern cards V1, V2 (chara_card_v2) and V3 (chara_card_v3)
// as JSON, as PNG (base64 JSON in a tEXt chunk "chara" or "ccv3") and as
// CHARX (a zip with card.json); lorebooks embedded in a card
// (character_book), standalone (lorebook_v3) and SillyTavern world files;
// SillyTavern chats (JSONL). Every reader caps what it reads, so a hostile
// file costs at most a few megabytes of memory and fails with one line.
//
// The package is pure: no SQL, no terminal, no Lua runtime. Writing files
// is left to the caller (BuildPack returns them).
package cards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Limits on what the readers accept.
const (
	// MaxInput is the largest card or lorebook file read (a PNG card
	// carries its portrait; a CHARX carries assets).
	MaxInput = 32 << 20
	// MaxJSON is the largest card or lorebook JSON accepted, decoded from
	// base64 or decompressed from a zip.
	MaxJSON = 8 << 20
)

// Sentinel errors.
var (
	// ErrTooLarge: the input is over a limit (MaxInput, MaxJSON, MaxChat).
	ErrTooLarge = errors.New("too large")
	// ErrNoCard: a PNG or CHARX that holds no card.
	ErrNoCard = errors.New("no character card in it")
	// ErrSpec: a spec name this reader does not know.
	ErrSpec = errors.New("unknown spec")
)

// Spec names.
const (
	SpecV1       = "chara_card_v1" // no spec field: the original Tavern card
	SpecV2       = "chara_card_v2"
	SpecV3       = "chara_card_v3"
	SpecLorebook = "lorebook_v3"
	SpecWorld    = "sillytavern_world" // a SillyTavern World Info file (no spec field)
	SpecBook     = "character_book"    // a bare lorebook object (no spec field)
)

// Card is a character card of any version, normalised. Text fields are
// valid UTF-8 with \n line ends; macros ({{char}}, {{user}}) are left as
// written (see Substitute).
type Card struct {
	Spec        string // SpecV1, SpecV2 or SpecV3
	SpecVersion string

	Name                    string
	Nickname                string // V3: used for {{char}} when set
	Description             string
	Personality             string
	Scenario                string
	FirstMes                string
	MesExample              string
	AlternateGreetings      []string
	GroupOnlyGreetings      []string // V3
	SystemPrompt            string
	PostHistoryInstructions string
	CreatorNotes            string
	Creator                 string
	CharacterVersion        string
	Tags                    []string
	Source                  []string // V3
	Book                    *Lorebook

	// Kept verbatim so nothing is lost: the card's extensions, its V3
	// assets and multilingual notes, and any other field of its data.
	Extensions map[string]json.RawMessage
	Extra      map[string]json.RawMessage

	// Raw is the card's JSON as read (the whole object, spec and all).
	Raw json.RawMessage

	// Notes are warnings for the user (a newer spec version, a V1 alias).
	Notes []string
}

// CharName is what {{char}} stands for: the nickname, else the name.
func (c *Card) CharName() string {
	if strings.TrimSpace(c.Nickname) != "" {
		return strings.TrimSpace(c.Nickname)
	}
	return strings.TrimSpace(c.Name)
}

// Greetings returns first_mes then the alternate greetings, empty ones dropped.
func (c *Card) Greetings() []string {
	var out []string
	if strings.TrimSpace(c.FirstMes) != "" {
		out = append(out, c.FirstMes)
	}
	for _, g := range c.AlternateGreetings {
		if strings.TrimSpace(g) != "" {
			out = append(out, g)
		}
	}
	return out
}

// File is what one input file holds: a card (possibly with an embedded
// lorebook) or a standalone lorebook.
type File struct {
	Card      *Card
	Book      *Lorebook // a standalone lorebook (Card is nil)
	Container string    // "json", "png" or "charx"
	Chunk     string    // the PNG tEXt keyword the card came from
}

// Spec returns the spec of what the file holds.
func (f *File) Spec() string {
	if f.Card != nil {
		return f.Card.Spec
	}
	if f.Book != nil {
		return f.Book.Spec
	}
	return ""
}

// ReadFile reads a card or lorebook file, refusing files over MaxInput
// before reading them.
func ReadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err // the caller names the file
		}
		return nil, err
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err == nil {
		if fi.IsDir() {
			return nil, errors.New("a folder, not a card file")
		}
		if fi.Size() > MaxInput {
			return nil, fmt.Errorf("%w: %s (a card file may be at most %s)", ErrTooLarge, size(fi.Size()), size(MaxInput))
		}
	}
	b, err := io.ReadAll(io.LimitReader(fh, MaxInput+1))
	if err != nil {
		return nil, err
	}
	return Decode(b)
}

// Decode reads a card or lorebook from its bytes: PNG, CHARX (zip) or JSON,
// told apart by their first bytes.
func Decode(b []byte) (*File, error) {
	if len(b) > MaxInput {
		return nil, fmt.Errorf("%w: %s (a card file may be at most %s)", ErrTooLarge, size(int64(len(b))), size(MaxInput))
	}
	switch {
	case bytes.HasPrefix(b, pngSignature):
		js, chunk, err := pngCard(b)
		if err != nil {
			return nil, err
		}
		f, err := decodeJSON(js)
		if err != nil {
			return nil, fmt.Errorf("PNG chunk %q: %w", chunk, err)
		}
		if f.Card == nil {
			return nil, fmt.Errorf("PNG chunk %q: %w (it holds a lorebook)", chunk, ErrNoCard)
		}
		f.Container, f.Chunk = "png", chunk
		return f, nil
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")):
		js, err := charxCard(b)
		if err != nil {
			return nil, err
		}
		f, err := decodeJSON(js)
		if err != nil {
			return nil, fmt.Errorf("card.json: %w", err)
		}
		if f.Card == nil {
			return nil, fmt.Errorf("card.json: %w (it holds a lorebook)", ErrNoCard)
		}
		f.Container = "charx"
		return f, nil
	}
	f, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	f.Container = "json"
	return f, nil
}

// decodeJSON reads a card or lorebook object.
func decodeJSON(b []byte) (*File, error) {
	if len(b) > MaxJSON {
		return nil, fmt.Errorf("%w: %s of JSON (at most %s)", ErrTooLarge, size(int64(len(b))), size(MaxJSON))
	}
	t := bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	if len(t) > 0 && t[0] != '{' && t[0] != '[' && t[0] != '"' {
		return nil, errors.New("not a character card: neither PNG, CHARX (zip) nor JSON")
	}
	o, err := decodeObject(b)
	if err != nil {
		return nil, err
	}
	if o.has("spec") {
		spec := o.str("spec")
		switch spec {
		case SpecV2, SpecV3:
			data := o.object("data")
			if data == nil {
				return nil, fmt.Errorf("%s card without a data object", spec)
			}
			c, err := cardFrom(spec, o.str("spec_version"), data)
			if err != nil {
				return nil, err
			}
			c.Raw = rawCopy(b)
			return &File{Card: c}, nil
		case SpecLorebook:
			data := o.object("data")
			if data == nil {
				return nil, fmt.Errorf("%s without a data object", spec)
			}
			lb, err := bookFrom(data, SpecLorebook)
			if err != nil {
				return nil, err
			}
			return &File{Book: lb}, nil
		}
		return nil, fmt.Errorf("%w %q: want %s, %s or %s (or a V1 card, with no spec)", ErrSpec, spec, SpecV2, SpecV3, SpecLorebook)
	}
	if o.has("entries") && !o.has("first_mes") && !o.has("char_greeting") {
		spec := SpecBook
		if e := bytes.TrimSpace(o["entries"]); len(e) > 0 && e[0] == '{' {
			spec = SpecWorld
		}
		lb, err := bookFrom(o, spec)
		if err != nil {
			return nil, err
		}
		return &File{Book: lb}, nil
	}
	if o.has("name") || o.has("char_name") {
		c, err := cardV1(o)
		if err != nil {
			return nil, err
		}
		c.Raw = rawCopy(b)
		return &File{Card: c}, nil
	}
	return nil, errors.New("not a character card or lorebook: no spec, no name, no entries")
}

// The fields of a V2/V3 card's data that map onto Card.
var cardFields = []string{"name", "nickname", "description", "personality", "scenario", "first_mes", "mes_example",
	"alternate_greetings", "group_only_greetings", "system_prompt", "post_history_instructions", "creator_notes",
	"creator", "character_version", "tags", "source", "character_book", "extensions"}

func cardFrom(spec, version string, d obj) (*Card, error) {
	c := &Card{
		Spec: spec, SpecVersion: version,
		Name: strings.TrimSpace(d.str("name")), Nickname: strings.TrimSpace(d.str("nickname")),
		Description: d.str("description"), Personality: d.str("personality"), Scenario: d.str("scenario"),
		FirstMes: d.str("first_mes"), MesExample: d.str("mes_example"),
		AlternateGreetings: d.texts("alternate_greetings"), GroupOnlyGreetings: d.texts("group_only_greetings"),
		SystemPrompt: d.str("system_prompt"), PostHistoryInstructions: d.str("post_history_instructions"),
		CreatorNotes: d.str("creator_notes"), Creator: d.str("creator"), CharacterVersion: d.str("character_version"),
		Tags: d.strs("tags"), Source: d.texts("source"),
		Extra: d.rest(cardFields...),
	}
	if ext := d.object("extensions"); len(ext) > 0 {
		c.Extensions = ext
	}
	if c.Name == "" {
		return nil, fmt.Errorf("%s card without a name", spec)
	}
	if spec == SpecV3 && version != "" && version != "3.0" {
		if v := parseVersion(version); v > 3 {
			c.Notes = append(c.Notes, fmt.Sprintf("spec_version %s is newer than 3.0: fields this reader does not know are kept, not used", version))
		}
	}
	if d.has("character_book") {
		bo := d.object("character_book")
		if bo == nil {
			return nil, errors.New("character_book is not an object")
		}
		lb, err := bookFrom(bo, SpecBook)
		if err != nil {
			return nil, fmt.Errorf("character_book: %w", err)
		}
		c.Book = lb
	}
	return c, nil
}

// cardV1 reads a V1 card: the six fields at the top level, or the older
// TavernAI/Pygmalion names (char_name, char_persona, world_scenario,
// char_greeting, example_dialogue).
func cardV1(o obj) (*Card, error) {
	pick := func(a, b string) string {
		if o.has(a) {
			return o.str(a)
		}
		return o.str(b)
	}
	c := &Card{
		Spec: SpecV1,
		Name: strings.TrimSpace(pick("name", "char_name")), Description: o.str("description"),
		Personality: pick("personality", "char_persona"), Scenario: pick("scenario", "world_scenario"),
		FirstMes: pick("first_mes", "char_greeting"), MesExample: pick("mes_example", "example_dialogue"),
		Tags:  o.strs("tags"),
		Extra: o.rest("name", "char_name", "description", "personality", "char_persona", "scenario", "world_scenario", "first_mes", "char_greeting", "mes_example", "example_dialogue", "tags"),
	}
	if c.Name == "" {
		return nil, errors.New("V1 card without a name")
	}
	return c, nil
}

func parseVersion(s string) float64 {
	var f float64
	if _, err := fmt.Sscanf(s, "%g", &f); err != nil {
		return 0
	}
	return f
}

// size renders a byte count for messages: "50.0 MB", "312 KB".
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// rawCopy returns the JSON object in b, trimmed, as its own slice.
func rawCopy(b []byte) json.RawMessage {
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	return append(json.RawMessage(nil), b...)
}
