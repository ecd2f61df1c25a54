package shell

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"diorama/core"
)

// job is work running on a worker goroutine: a turn or an engine command.
// At most one runs at a time.
type job struct {
	name       string // "turn", "/regen" …
	cancel     context.CancelFunc
	done       chan struct{}
	started    time.Time
	phase      string // what the status bar says
	cancelling bool

	// A turn's progress.
	line      string
	lastEvent int64  // newest committed event shown before the turn
	pending   *entry // the spinner shown until a bot starts
	cur       *entry // the reply streaming now
	tokStart  time.Time
	streamed  time.Duration
	chunks    int
	words     int
	rejected  []string
}

func (u *ui) newJob(name, phase string) (*job, context.Context) {
	ctx, cancel := context.WithCancel(u.ctx)
	j := &job{name: name, cancel: cancel, done: make(chan struct{}), started: time.Now(), phase: phase}
	u.job = j
	return j, ctx
}

// endJob marks j finished on the screen goroutine.
func (u *ui) endJob(j *job) {
	j.cancel()
	if u.job == j {
		u.job = nil
	}
}

// load reads the transcript for the first screen. It runs before the
// event loop (keys typed meanwhile wait in the queue), after a first frame
// that says so.
func (u *ui) load() {
	u.hint = "loading the story…"
	u.draw()
	u.hint = ""
	es, err := u.app.Transcript(u.ctx, u.limit())
	if err != nil {
		u.system(kindError, "could not load the transcript: "+firstLine(err.Error()))
		return
	}
	u.tr.reset(entries(es))
	if u.info.Save != "" {
		u.system(kindNotice, "save: "+u.info.Save+" · F1 or /help lists commands and keys")
	}
}

func entries(es []Entry) []*entry {
	out := make([]*entry, len(es))
	for i, e := range es {
		out[i] = newEntry(e)
	}
	return out
}

// lastEvent is the newest committed event in the transcript.
func (u *ui) lastEvent() int64 {
	for i := len(u.tr.entries) - 1; i >= 0; i-- {
		if e := u.tr.entries[i]; e.Event > 0 && !e.provisional {
			return e.Event
		}
	}
	return 0
}

func (u *ui) name(id string) string {
	if u.st != nil {
		if e := u.st.Entities[id]; e != nil && e.Name != "" {
			return e.Name
		}
	}
	return id
}

// say plays a line of the story as a turn, streaming replies as they come.
func (u *ui) say(line string) {
	j, ctx := u.newJob("turn", "thinking")
	j.line = line
	j.lastEvent = u.lastEvent()
	var player string
	if u.st != nil {
		player = u.st.Cast.Player
	}
	pe := newEntry(Entry{Who: player, Name: u.name(player), Text: line, Player: true})
	pe.provisional = true
	j.pending = &entry{kind: kindPending, provisional: true}
	u.tr.add(pe, j.pending)
	u.tr.end()

	obs := core.TurnObserver{
		Speaker: func(id string) { u.post(func() { u.onSpeaker(j, id) }) },
		Token: func(id, chunk string) {
			at := time.Now()
			u.post(func() { u.onToken(j, id, chunk, at) })
		},
		Reply: func(id, text string) {
			at := time.Now()
			u.post(func() { u.onReply(j, id, text, at) })
		},
		Rejected: func(id string, reasons []string) {
			rs := append([]string(nil), reasons...)
			u.post(func() { u.onRejected(j, id, rs) })
		},
		HookErr: func(hook string, err error) {
			msg := err.Error()
			u.post(func() { u.system(kindNotice, fmt.Sprintf("hook %s failed (the turn goes on): %s", hook, msg)) })
		},
	}
	u.goWork(j, func() func() {
		res, err := u.app.Turn(ctx, line, obs)
		var tail []Entry
		var terr error
		if err == nil {
			n := 16
			if res != nil {
				n += 4 * len(res.Replies)
			}
			tail, terr = u.app.Transcript(u.ctx, n)
		}
		return func() { u.finishTurn(j, err, tail, terr) }
	})
}

// speaking returns the entry streaming id's reply, starting one if needed.
func (u *ui) speaking(j *job, id string) *entry {
	if j.cur != nil && j.cur.Who == id {
		return j.cur
	}
	if j.pending != nil {
		u.tr.remove(func(e *entry) bool { return e == j.pending })
		j.pending = nil
	}
	e := newEntry(Entry{Who: id, Name: u.name(id)})
	e.provisional, e.streaming, e.spin = true, true, true
	u.tr.add(e)
	j.cur = e
	j.phase = u.name(id) + " is replying"
	return e
}

func (u *ui) onSpeaker(j *job, id string) {
	if u.job != j {
		return
	}
	u.speaking(j, id)
}

func (u *ui) onToken(j *job, id, chunk string, at time.Time) {
	if u.job != j || chunk == "" {
		return
	}
	e := u.speaking(j, id)
	if e.spin {
		e.spin = false
	}
	if j.tokStart.IsZero() {
		j.tokStart = at
	}
	e.raw = append(e.raw, chunk...)
	e.changed()
	j.chunks++
}

func (u *ui) onReply(j *job, id, text string, at time.Time) {
	if u.job != j {
		return
	}
	e := u.speaking(j, id)
	e.streaming, e.spin = false, false
	e.Text, e.raw = text, nil
	e.changed()
	if !j.tokStart.IsZero() {
		j.streamed += at.Sub(j.tokStart)
		j.tokStart = time.Time{}
	}
	j.words += len(strings.Fields(text))
	j.cur = nil
	j.phase = "the world moves on"
}

func (u *ui) onRejected(j *job, id string, reasons []string) {
	if u.job != j {
		return
	}
	for _, r := range reasons {
		j.rejected = append(j.rejected, u.name(id)+": "+r)
	}
}

// finishTurn settles a turn: on success the provisional lines become the
// committed ones (read back from the transcript, with their event ids); on
// failure they go, and the player's line returns to the input.
func (u *ui) finishTurn(j *job, err error, tail []Entry, terr error) {
	u.endJob(j)
	provisional := func(e *entry) bool { return e.provisional }
	if err != nil {
		u.tr.remove(provisional)
		line := j.line
		var te *core.TurnError
		if errors.As(err, &te) && te.Line != "" {
			line = te.Line
		}
		var msg string
		if j.cancelling || errors.Is(err, context.Canceled) {
			msg = "cancelled: nothing was saved"
		} else {
			msg = firstLine(err.Error())
		}
		if strings.TrimSpace(u.ed.text) == "" {
			u.ed.set(line)
			msg += " · your line is back in the input (Enter sends it again)"
		} else {
			u.ed.remember(line)
			msg += " · your line is in the history (Up)"
		}
		u.system(kindError, msg)
		u.refresh()
		return
	}
	var fresh []*entry
	if terr == nil {
		for _, e := range tail {
			if e.Event > j.lastEvent {
				fresh = append(fresh, newEntry(e))
			}
		}
	}
	if len(fresh) > 0 {
		i := u.tr.remove(provisional)
		u.tr.insert(i, fresh...)
	} else {
		u.tr.remove(func(e *entry) bool { return e.kind == kindPending })
		for _, e := range u.tr.entries {
			if e.provisional {
				e.provisional, e.streaming, e.spin = false, false, false
				if e.raw != nil {
					e.Text, e.raw = string(e.raw), nil
				}
				e.changed()
			}
		}
	}
	if len(j.rejected) > 0 {
		u.system(kindNotice, "state update refused: "+strings.Join(j.rejected, "; "))
	}
	if j.streamed >= 10*time.Millisecond {
		n := max(j.chunks, j.words)
		u.rate = fmt.Sprintf("%.1f tok/s", float64(n)/j.streamed.Seconds())
	} else if j.chunks > 0 {
		u.rate = ""
	}
	u.refresh()
}

// cancel stops the running job.
func (u *ui) cancelJob() bool {
	j := u.job
	if j == nil {
		return false
	}
	j.cancelling = true
	j.phase = "cancelling"
	j.cancel()
	return true
}

// exec runs an engine command on a worker; commands that change history
// reload the transcript afterwards.
func (u *ui) exec(c *command, args []string) {
	echo := strings.Join(append([]string{"/" + c.name}, args...), " ")
	if u.job != nil {
		u.hint = "busy with " + u.job.name + ": wait, or Esc to cancel it"
		return
	}
	j, ctx := u.newJob("/"+c.name, "running /"+c.name)
	limit := u.limit()
	u.goWork(j, func() func() {
		out, err := u.app.Exec(ctx, c.name, args)
		var es []Entry
		var terr error
		reload := err == nil && c.reload
		if reload {
			es, terr = u.app.Transcript(u.ctx, limit)
		}
		return func() {
			u.endJob(j)
			if reload && terr == nil {
				u.tr.reset(entries(es))
			}
			switch {
			case err != nil && (j.cancelling || errors.Is(err, context.Canceled)):
				u.system(kindError, echo+": cancelled")
			case err != nil:
				u.system(kindError, echo+": "+firstLine(err.Error()))
			case strings.TrimSpace(out) == "":
				u.system(kindSystem, echo+": done")
			default:
				u.system(kindSystem, echo+"\n"+strings.TrimRight(out, "\n"))
			}
			if reload && terr != nil {
				u.system(kindError, "could not reload the transcript: "+firstLine(terr.Error()))
			}
			u.refresh()
		}
	})
}

// firstLine keeps an error to one line.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
