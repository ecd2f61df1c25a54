// Package shell is the terminal chat shell of `diorama play`, built on tcell.
//
// One goroutine owns the screen (the one running Run). Turns and engine
// commands run on a worker goroutine; their progress (streamed tokens, the
// result) is queued back to the screen goroutine as closures, and redraws
// are requested through a non-blocking, coalescing wake-up channel, so a
// burst of tokens or a long paste costs one redraw, not one per event.
//
// Keys are data: a key name maps to a command line ("F2" -> "/panel"), and
// a bound key and a typed slash command go through the same dispatcher.
//
// The CLI wires it up as:
//
//	screen, err := tcell.NewScreen()
//	if err != nil { … }
//	err = shell.Run(ctx, screen, app, shell.Options{}) // app implements shell.App
package shell

import (
	"context"
	"time"

	"diorama/core"
)

// App is what the shell needs from the engine. The CLI implements it by
// wiring a core.Session, the store and the world pack.
//
// Calls never overlap: the shell calls State, Info, LastPrompt and
// Transcript only while no Turn or Exec is running, and runs at most one
// Turn or Exec at a time (on a worker goroutine, never on the screen
// goroutine). Notices is called once, at start; its channel is read on its
// own goroutine until Run returns.
type App interface {
	// State returns the current projected state. The shell only reads it
	// and keeps it as a snapshot until the next Turn or Exec completes.
	State() *core.State
	// Transcript returns the last limit lines visible to the player,
	// oldest first.
	Transcript(ctx context.Context, limit int) ([]Entry, error)
	// Turn plays the player's line. It streams through obs and must stop
	// promptly when ctx is cancelled, returning a *core.TurnError.
	Turn(ctx context.Context, line string, obs core.TurnObserver) (*core.TurnResult, error)
	// LastPrompt returns the last prompt built for bot, if any.
	LastPrompt(bot string) (core.Prompt, bool)
	// Info names what is being played: pack, branch, backend, save.
	Info() Info
	// Exec runs an engine-side slash command (without its slash: "state",
	// "rewind", "delete" …) and returns text to show. An error is shown as
	// one line; a command whose engine support is missing returns an error
	// saying so plainly.
	Exec(ctx context.Context, cmd string, args []string) (string, error)
	// Notices delivers asynchronous messages (hot reload applied or
	// rejected with FILE:LINE), shown as dim system lines without
	// disturbing the scene. It may return nil.
	Notices() <-chan string
}

// Entry is one line of the transcript as the player sees it.
type Entry struct {
	Who       string // speaker id ("" for narration without a speaker)
	Name      string // display name (Who when empty)
	Text      string
	Player    bool  // said by the player
	Narration bool  // narration rather than speech
	Event     int64 // the log event it comes from (0 while not committed)
}

// Info names the session for the status bar.
type Info struct {
	Pack    string // world pack name
	Branch  string
	Backend string // e.g. "ollama:llama3", or "OFFLINE" for the offline renderer
	Save    string // save file path
}

// Options tune the shell. The zero value is ready to use.
type Options struct {
	// Keys adds or overrides key bindings: a key name as KeyName prints it
	// ("F2", "Ctrl+O", "Alt+Enter", "PgUp", "WheelUp") mapped to a command
	// line ("/panel", "/scroll up 3"). An empty command unbinds the key.
	Keys map[string]string
	// History is how many transcript lines are loaded at start and after a
	// command that changes history (default 2000).
	History int
	// Panel opens the side panel at start.
	Panel bool
	// NoMouse leaves the mouse to the terminal (text selection) instead of
	// using the wheel for scrollback.
	NoMouse bool
	// QuitWait bounds how long Run waits, on quitting, for a cancelled
	// turn to return (default 5s).
	QuitWait time.Duration

	// drawn, when set (tests), is called on the screen goroutine after
	// every frame is shown.
	drawn func()
}
