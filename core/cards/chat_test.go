package cards_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"diorama/core/cards"
)

func TestParseChat(t *testing.T) {
	f, err := os.Open("testdata/chat_swipes.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := cards.ParseChat(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.UserName != "Rook" || c.CharacterName != "Captain Ilse Marrow" || len(c.Metadata) == 0 {
		t.Fatalf("metadata %+v", c)
	}
	if got, want := len(c.Messages), 6; got != want {
		t.Fatalf("%d messages, want %d", got, want)
	}
	greet := c.Messages[0]
	if greet.IsUser || greet.Line != 2 || len(greet.Swipes) != 1 || !strings.Contains(greet.Swipes[0], "You're late") {
		t.Fatalf("greeting %+v", greet)
	}
	// swipe_id 1 is the chosen one: the other two are the swipes, in order
	reply := c.Messages[2]
	if len(reply.Swipes) != 2 || !strings.HasPrefix(reply.Swipes[0], `"None of your business`) || !strings.HasPrefix(reply.Swipes[1], "*A long pause.*") {
		t.Fatalf("swipes %q", reply.Swipes)
	}
	if !c.Messages[3].IsSystem {
		t.Fatal("a narrator line is not marked as a system line")
	}
	if c.Messages[4].SendDate != "1714684620000" || !c.Messages[4].IsUser {
		t.Fatalf("a numeric send_date: %+v", c.Messages[4])
	}
	if len(c.Messages[5].Swipes) != 0 {
		t.Fatalf("a single swipe equal to mes is no alternative: %q", c.Messages[5].Swipes)
	}
}

func TestParseChatBad(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Empty", "", "empty chat"},
		{"Truncated", `{"user_name":"a"}` + "\n" + `{"name":"b","mes":"hi`, "line 2: truncated JSON"},
		{"NotObject", `{"user_name":"a"}` + "\n[1]\n", "line 2: want a JSON object"},
		{"NoMes", `{"user_name":"a"}` + "\n" + `{"name":"b"}` + "\n", `line 2: a message without "mes"`},
		{"Garbage", "hello\n", "line 1: malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cards.ParseChat(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line with %q", err, tt.want)
			}
		})
	}
	long := `{"user_name":"a"}` + "\n" + `{"mes":"` + strings.Repeat("x", cards.MaxChatLine) + `"}`
	if _, err := cards.ParseChat(strings.NewReader(long)); !errors.Is(err, cards.ErrTooLarge) {
		t.Fatalf("a line over the limit: %v", err)
	}
}

func TestParseChatWithoutMetadata(t *testing.T) {
	c, err := cards.ParseChat(strings.NewReader(`{"name":"A","is_user":true,"mes":"hi"}` + "\n\n" + `{"name":"B","mes":"yo","swipes":["yo","hey"],"swipe_id":0}`))
	if err != nil || len(c.Messages) != 2 || c.Metadata != nil || c.Messages[1].Swipes[0] != "hey" {
		t.Fatalf("%+v %v", c, err)
	}
}
