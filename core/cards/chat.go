package cards

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits on chats.
const (
	// MaxChat is the largest chat file read.
	MaxChat = 256 << 20
	// MaxChatLine is the longest line (one message with its swipes).
	MaxChatLine = 16 << 20
	// MaxSwipes caps the swipes kept per message.
	MaxSwipes = 64
)

// Chat is a SillyTavern chat: its metadata line and its messages.
type Chat struct {
	UserName      string
	CharacterName string
	CreateDate    string
	Metadata      json.RawMessage // the first line, verbatim
	Messages      []Message
}

// Message is one chat message.
type Message struct {
	Line     int // 1-based line of the file
	Name     string
	IsUser   bool
	IsSystem bool // a narrator or system line (hidden from the model in SillyTavern)
	Text     string
	SendDate string
	// Swipes are the alternatives to Text (the chosen swipe), in order,
	// without Text itself and without duplicates.
	Swipes []string
}

// ParseChat reads a SillyTavern chat: JSONL whose first line is the chat's
// metadata (user_name, character_name, create_date, chat_metadata) and
// every other line a message (name, is_user, is_system, mes, send_date,
// swipes, swipe_id). Blank lines are skipped. A first line that is a
// message (it has "mes") is read as one: some tools write no metadata.
func ParseChat(r io.Reader) (*Chat, error) {
	cr := &countReader{r: io.LimitReader(r, MaxChat+1)}
	br := bufio.NewReaderSize(cr, 64<<10)
	c := &Chat{}
	for line := 1; ; line++ {
		raw, err := readLine(br)
		if cr.n > MaxChat {
			return nil, fmt.Errorf("%w: the chat is over %s", ErrTooLarge, size(MaxChat))
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if t := bytes.TrimSpace(raw); len(t) > 0 {
			if err := c.addLine(line, t); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if c.Metadata == nil && len(c.Messages) == 0 {
		return nil, errors.New("empty chat: no metadata line and no messages")
	}
	return c, nil
}

// readLine reads one line of at most MaxChatLine bytes, without its \n.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > MaxChatLine {
			return nil, fmt.Errorf("%w: a line over %s", ErrTooLarge, size(MaxChatLine))
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return bytes.TrimSuffix(line, []byte("\n")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return line, err
		}
	}
}

func (c *Chat) addLine(line int, raw []byte) error {
	o, err := decodeObject(raw)
	if err != nil {
		return err
	}
	if !o.has("mes") {
		if c.Metadata != nil || len(c.Messages) > 0 {
			return errors.New(`a message without "mes" (its text)`)
		}
		c.Metadata = append(json.RawMessage(nil), raw...)
		c.UserName = strings.TrimSpace(o.str("user_name"))
		c.CharacterName = strings.TrimSpace(o.str("character_name"))
		c.CreateDate = o.str("create_date")
		return nil
	}
	m := Message{Line: line, Name: strings.TrimSpace(o.str("name")), Text: o.str("mes"), SendDate: o.str("send_date")}
	m.IsUser, _ = o.boolean("is_user")
	m.IsSystem, _ = o.boolean("is_system")
	if ex := o.object("extra"); ex != nil && strings.EqualFold(ex.str("type"), "narrator") {
		m.IsSystem = true
	}
	swipes := o.texts("swipes")
	chosen := -1
	if id, ok := o.integer("swipe_id"); ok && id >= 0 && id < len(swipes) && swipes[id] == m.Text {
		chosen = id
	}
	seen := map[string]bool{strings.TrimSpace(m.Text): true}
	for i, s := range swipes {
		t := strings.TrimSpace(s)
		if i == chosen || t == "" || seen[t] {
			continue
		}
		seen[t] = true
		if len(m.Swipes) < MaxSwipes {
			m.Swipes = append(m.Swipes, s)
		}
	}
	c.Messages = append(c.Messages, m)
	return nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
