package core

import (
	"fmt"
	"strings"
)

// MaxBots is the number of bots a cast may hold besides the player. The cap is
// load-bearing: it keeps the relationship graph at six directed edges plus one
// group node and the witness mask at three bits.
const MaxBots = 2

// Mask is a 3-bit witness mask: bit 0 is the player, bit 1 botA, bit 2 botB.
// A memory or event is visible to a character only if its bit is set.
type Mask uint8

// MaskAll is the mask with every cast member's bit set.
const MaskAll Mask = 0b111

// Has reports whether bit i is set.
func (m Mask) Has(bit int) bool { return bit >= 0 && bit < 3 && m&(1<<bit) != 0 }

// String renders the mask as three characters [you, botA, botB], e.g. "y-b".
func (m Mask) String() string {
	var b strings.Builder
	for i, c := range []byte{'y', 'a', 'b'} {
		if m.Has(i) {
			b.WriteByte(c)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// Cast is the fixed set of characters in a save: the player and up to two bots.
type Cast struct {
	Player string   `json:"player"`
	Bots   []string `json:"bots"`
}

// Validate checks the cast size and that ids are distinct and non-empty.
func (c Cast) Validate() error {
	if c.Player == "" {
		return fmt.Errorf("cast: the player needs an id")
	}
	if len(c.Bots) > MaxBots {
		return fmt.Errorf("cast: at most %d bots, got %d", MaxBots, len(c.Bots))
	}
	seen := map[string]bool{c.Player: true}
	for _, b := range c.Bots {
		if b == "" {
			return fmt.Errorf("cast: a bot needs an id")
		}
		if seen[b] {
			return fmt.Errorf("cast: duplicate id %q", b)
		}
		seen[b] = true
	}
	return nil
}

// Members lists the cast in bit order: player, botA, botB.
func (c Cast) Members() []string {
	return append([]string{c.Player}, c.Bots...)
}

// Bit returns the witness bit of id, or -1 if id is not in the cast.
func (c Cast) Bit(id string) int {
	if id == c.Player {
		return 0
	}
	for i, b := range c.Bots {
		if b == id {
			return i + 1
		}
	}
	return -1
}

// MaskOf returns the mask with the bits of the given ids set; ids outside the
// cast are ignored.
func (c Cast) MaskOf(ids ...string) Mask {
	var m Mask
	for _, id := range ids {
		if b := c.Bit(id); b >= 0 {
			m |= 1 << b
		}
	}
	return m
}

// IsBot reports whether id is one of the bots.
func (c Cast) IsBot(id string) bool { return c.Bit(id) > 0 }
