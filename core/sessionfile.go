package core

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// A session file is a branch exported as JSON lines: a header line, then
// one event per line, root first, each with its seq and parent as in the
// save (a branch that forked keeps the gaps in its numbering, so the state
// it gives is the same byte for byte). Packs keep such files in
// tests/sessions/ and `diorama test` replays them; `diorama
// import-session` turns one back into a save.

// SessionFormat names the header's format.
const SessionFormat = "diorama-session"

// SessionVersion is the version of the format this build writes and reads.
const SessionVersion = 1

// MaxSessionLine bounds one line of a session file (the world's creation is
// the longest).
const MaxSessionLine = 16 << 20

// SessionHeader is the first line of a session file.
type SessionHeader struct {
	Format     string `json:"format"`
	Version    int    `json:"version"`
	World      string `json:"world"`
	Branch     string `json:"branch,omitempty"`
	Events     int    `json:"events"`
	StateHash  string `json:"state_hash,omitempty"` // of the state after the last event
	ExportedAt string `json:"exported_at,omitempty"`
}

// sessionEvent is one event line: the envelope, payload last so a line
// reads from its metadata on.
type sessionEvent struct {
	Seq       int64           `json:"seq"`
	Parent    int64           `json:"parent"`
	Turn      int64           `json:"turn"`
	Type      string          `json:"type"`
	Version   int             `json:"version"`
	Mask      Mask            `json:"mask"`
	CausedBy  int64           `json:"caused_by,omitempty"`
	WorldTime int64           `json:"world_time"`
	CreatedAt time.Time       `json:"created_at"`
	Branch    string          `json:"branch,omitempty"`
	Payload   json.RawMessage `json:"payload"`
}

// SessionFile is a parsed session file.
type SessionFile struct {
	Header SessionHeader
	Events []Event
	Lines  []int // the line each event is on
}

// Linear renumbers a path (root first) 1, 2, 3…: parents, causes and the
// memory ids payloads name follow. A path already numbered so is returned
// as it is.
func Linear(path []Event) ([]Event, error) {
	dense := true
	for i := range path {
		if path[i].Seq != int64(i+1) {
			dense = false
			break
		}
	}
	if dense {
		return path, nil
	}
	m := make(map[int64]int64, len(path))
	out := make([]Event, len(path))
	for i := range path {
		e := path[i]
		m[e.Seq] = int64(i + 1)
		e.Seq, e.Parent = int64(i+1), int64(i)
		if e.CausedBy != 0 {
			e.CausedBy = m[e.CausedBy] // 0 if it is not on the path: the cause is lost, not invented
		}
		if err := RemapPayload(&e, m); err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// WriteSession writes path (root first) as a session file. The header's
// Events and StateHash are filled in from path.
func WriteSession(w io.Writer, h SessionHeader, path []Event) error {
	evs := path
	st, err := foldPath(evs)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	h.Format, h.Version, h.Events, h.StateHash = SessionFormat, SessionVersion, len(evs), st.Hash()
	if h.World == "" {
		h.World = st.World.ID
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return err
	}
	for i := range evs {
		e := &evs[i]
		se := sessionEvent{Seq: e.Seq, Parent: e.Parent, Turn: e.Turn, Type: e.Type, Version: e.Version, Mask: e.Mask,
			CausedBy: e.CausedBy, WorldTime: e.WorldTime, CreatedAt: e.CreatedAt.UTC(), Branch: e.Branch, Payload: e.Payload}
		if err := enc.Encode(se); err != nil {
			return fmt.Errorf("export event %d: %w", e.Seq, err)
		}
	}
	return bw.Flush()
}

// SessionError is a problem in a session file, at a line.
type SessionError struct {
	Line int
	Msg  string
}

func (e *SessionError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// ReadSession parses and checks a session file: the header, every event
// (known type and version, a payload that decodes, seqs rising, each the
// child of the one before, turns without gaps, causes among the events
// before it), and that the events fold into a state whose hash is the
// header's. Any problem is a *SessionError naming the line.
func ReadSession(r io.Reader) (*SessionFile, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxSessionLine)
	fail := func(line int, format string, args ...any) (*SessionFile, error) {
		return nil, &SessionError{Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	line := 0
	next := func() ([]byte, bool) {
		for sc.Scan() {
			line++
			if b := bytes.TrimSpace(sc.Bytes()); len(b) > 0 {
				return b, true
			}
		}
		return nil, false
	}
	first, ok := next()
	if !ok {
		if err := sc.Err(); err != nil {
			return fail(line+1, "%s", scanError(err))
		}
		return fail(0, "empty file: not a diorama session")
	}
	var f SessionFile
	if err := strictJSON(first, &f.Header); err != nil || f.Header.Format != SessionFormat {
		return fail(line, "not a diorama session (the first line must be its header, {\"format\":%q,…})", SessionFormat)
	}
	h := &f.Header
	switch {
	case h.Version < 1:
		return fail(line, "bad version %d", h.Version)
	case h.Version > SessionVersion:
		return fail(line, "session format version %d is newer than this build reads (%d): upgrade diorama", h.Version, SessionVersion)
	case h.Events < 0:
		return fail(line, "bad event count %d", h.Events)
	case h.Branch != "" && CheckBranchName(h.Branch) != nil:
		return fail(line, "bad branch: %v", CheckBranchName(h.Branch))
	}
	headerLine := line
	st := NewState()
	var turn int64
	seen := map[int64]bool{}
	for {
		b, ok := next()
		if !ok {
			break
		}
		var se sessionEvent
		if err := strictJSON(b, &se); err != nil {
			return fail(line, "%v", err)
		}
		n := int64(len(f.Events) + 1)
		var prev int64
		if len(f.Events) > 0 {
			prev = f.Events[len(f.Events)-1].Seq
		}
		e := Event{Seq: se.Seq, Parent: se.Parent, Branch: se.Branch, Turn: se.Turn, Type: se.Type, Version: se.Version,
			Payload: se.Payload, Mask: se.Mask, CausedBy: se.CausedBy, WorldTime: se.WorldTime, CreatedAt: se.CreatedAt.UTC()}
		switch {
		case n == 1 && e.Type != TypeWorldCreated:
			return fail(line, "the first event must be %s, not %q", TypeWorldCreated, e.Type)
		case e.Seq <= prev:
			return fail(line, "event numbered %d after %d (seqs rise along a path)", e.Seq, prev)
		case e.Parent != prev:
			return fail(line, "event %d has parent %d, want %d (the event before it)", e.Seq, e.Parent, prev)
		case n > 1 && e.Type == TypeWorldCreated:
			return fail(line, "a second %s", TypeWorldCreated)
		case n == 1 && e.Turn != 0:
			return fail(line, "the first event is in turn %d, want 0", e.Turn)
		case n > 1 && e.Turn != turn && e.Turn != turn+1:
			return fail(line, "event %d is in turn %d after turn %d (turns run on without gaps)", e.Seq, e.Turn, turn)
		case e.Mask > MaskAll:
			return fail(line, "event %d: bad mask %d", e.Seq, e.Mask)
		case e.CausedBy != 0 && !seen[e.CausedBy]:
			return fail(line, "event %d is caused by %d, which is not an event before it", e.Seq, e.CausedBy)
		case e.WorldTime < 0:
			return fail(line, "event %d: negative world time", e.Seq)
		case len(e.Payload) == 0 || e.Payload[0] != '{':
			return fail(line, "event %d: the payload must be a JSON object", e.Seq)
		}
		if CurrentVersion(e.Type) == 0 {
			return fail(line, "event %d: unknown event type %q", e.Seq, e.Type)
		}
		if err := st.Apply(&e); err != nil {
			return fail(line, "%v", err)
		}
		e.Payload = bytes.Clone(e.Payload)
		f.Events = append(f.Events, e)
		f.Lines = append(f.Lines, line)
		seen[e.Seq] = true
		turn = e.Turn
	}
	if err := sc.Err(); err != nil {
		return fail(line+1, "%s", scanError(err))
	}
	if len(f.Events) == 0 {
		return fail(headerLine, "the session has no events")
	}
	if h.Events > 0 && h.Events != len(f.Events) {
		return fail(0, "the header announces %d events but the file holds %d (is it cut short?)", h.Events, len(f.Events))
	}
	if h.World != "" && h.World != st.World.ID {
		return fail(headerLine, "the header names world %q but the events create %q", h.World, st.World.ID)
	}
	if h.StateHash != "" && h.StateHash != st.Hash() {
		return fail(0, "the events do not give the state the header records (state hash %s, want %s): the file was changed after export", clip(st.Hash(), 12), clip(h.StateHash, 12))
	}
	return &f, nil
}

func scanError(err error) string {
	if errors.Is(err, bufio.ErrTooLong) {
		return fmt.Sprintf("line longer than %d MB", MaxSessionLine>>20)
	}
	return err.Error()
}

// strictJSON decodes one JSON value, refusing unknown fields and trailing
// data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errors.New("bad JSON: more than one value on the line")
	}
	return nil
}
