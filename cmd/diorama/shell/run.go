package shell

import (
	"context"
	"fmt"
	"maps"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"

	"diorama/core"
)

// drawable is a part of the screen that draws itself into a rectangle.
type drawable interface {
	draw(s tcell.Screen, x, y, w, h int)
}

// interactive takes key events when it has the focus; it reports whether
// it used the key.
type interactive interface {
	key(ev *tcell.EventKey) bool
}

var (
	_ drawable    = (*transcript)(nil)
	_ drawable    = (*panel)(nil)
	_ interactive = (*editor)(nil)
)

// Layout thresholds.
const (
	minPanelWidth = 60 // narrower screens hide the side panel
	maxPanel      = 42 // the panel's widest
)

// ui is the shell's state. Every field below mu is owned by the screen
// goroutine; other goroutines only call post and invalidate.
type ui struct {
	ctx    context.Context
	screen tcell.Screen
	app    App
	opts   Options
	keys   map[string]string
	cmds   []*command

	mu    sync.Mutex
	queue []func()
	wake  chan struct{} // capacity 1: a pending redraw

	st        *core.State
	info      Info
	manifests map[string]core.Manifest

	tr      *transcript
	ed      *editor
	pn      *panel
	panelOn bool
	bot     int // selected bot (index into st.Cast.Bots)

	job      *job
	confirm  *confirm
	hint     string
	rate     string // tokens/s of the last reply
	quitting bool
}

// confirm is a yes/no question in place of the input line.
type confirm struct {
	question string
	yes      func()
}

func newUI(ctx context.Context, screen tcell.Screen, app App, opts Options) *ui {
	u := &ui{
		ctx:       ctx,
		screen:    screen,
		app:       app,
		opts:      opts,
		keys:      bindings(opts.Keys),
		wake:      make(chan struct{}, 1),
		manifests: map[string]core.Manifest{},
		tr:        newTranscript(),
		ed:        newEditor(),
		pn:        &panel{},
		panelOn:   opts.Panel,
	}
	u.pn.u = u
	u.cmds = commandTable()
	return u
}

// Run takes over screen (it calls Init and, on return, Fini) and plays app
// until /quit or until ctx is done. The terminal is restored on every way
// out, a panic included (it is re-raised after restoring). Returning on
// ctx gives ctx.Err(); /quit gives nil.
func Run(ctx context.Context, screen tcell.Screen, app App, opts Options) (err error) {
	if err := screen.Init(); err != nil {
		return fmt.Errorf("start the terminal screen: %w", err)
	}
	var once sync.Once
	fini := func() { once.Do(screen.Fini) }
	defer func() {
		if r := recover(); r != nil {
			fini()
			panic(r)
		}
		fini()
	}()
	screen.SetStyle(tcell.StyleDefault)
	screen.EnablePaste()
	if !opts.NoMouse {
		screen.EnableMouse(tcell.MouseButtonEvents)
	}
	u := newUI(ctx, screen, app, opts)
	return u.loop()
}

// post queues fn to run on the screen goroutine and requests a redraw.
func (u *ui) post(fn func()) {
	if fn == nil {
		u.invalidate()
		return
	}
	u.mu.Lock()
	u.queue = append(u.queue, fn)
	u.mu.Unlock()
	u.invalidate()
}

// invalidate requests a redraw; requests made before it happens coalesce.
func (u *ui) invalidate() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

func (u *ui) runQueued() {
	u.mu.Lock()
	q := u.queue
	u.queue = nil
	u.mu.Unlock()
	for _, fn := range q {
		fn()
	}
}

// maxBatch bounds the events handled between two redraws, so a long paste
// or a flood of keys cannot starve the screen.
const maxBatch = 4096

func (u *ui) loop() error {
	evch := make(chan tcell.Event, 256)
	stop := make(chan struct{})
	defer close(stop)
	go u.screen.ChannelEvents(evch, stop)
	if ch := u.app.Notices(); ch != nil {
		go func() {
			for {
				select {
				case n, ok := <-ch:
					if !ok {
						return
					}
					u.post(func() { u.notice(n) })
				case <-stop:
					return
				}
			}
		}()
	}
	u.refresh()
	u.load()
	for {
		u.draw()
		select {
		case <-u.ctx.Done():
			u.shutdown()
			return u.ctx.Err()
		case ev, ok := <-evch:
			if !ok {
				u.shutdown()
				return nil
			}
			u.handle(ev)
		case <-u.wake:
		}
		u.runQueued()
	drain:
		for i := 0; i < maxBatch && !u.quitting; i++ {
			select {
			case ev, ok := <-evch:
				if !ok {
					break drain
				}
				u.handle(ev)
			default:
				break drain
			}
		}
		u.runQueued()
		if u.quitting {
			u.shutdown()
			return nil
		}
	}
}

// shutdown cancels a running job and waits (bounded) for it to return, so
// the caller does not close the save under a turn that is still writing.
func (u *ui) shutdown() {
	j := u.job
	if j == nil {
		return
	}
	j.cancel()
	wait := u.opts.QuitWait
	if wait <= 0 {
		wait = 5 * time.Second
	}
	select {
	case <-j.done:
	case <-time.After(wait):
	}
}

// refresh takes a new snapshot of the app's state. It is only called while
// no job runs, so calls into App never overlap.
func (u *ui) refresh() {
	if u.job != nil {
		return // every job refreshes when it ends
	}
	u.st = u.app.State()
	u.info = u.app.Info()
	clear(u.manifests)
	if u.st != nil {
		for _, b := range u.st.Cast.Bots {
			if p, ok := u.app.LastPrompt(b); ok {
				u.manifests[b] = p.Manifest
			}
		}
		colors := castColors(u.st.Cast.Members())
		if !maps.Equal(colors, u.tr.colors) {
			u.tr.colors = colors
			u.tr.invalidate()
		}
		if u.bot >= len(u.st.Cast.Bots) {
			u.bot = 0
		}
	}
	u.pn.dirty = true
}

// limit is how many transcript lines to load.
func (u *ui) limit() int {
	if u.opts.History > 0 {
		return u.opts.History
	}
	return 2000
}

// workerPanic carries a panic from a worker goroutine to the screen
// goroutine, which re-raises it after restoring the terminal.
type workerPanic struct {
	val   any
	stack []byte
}

func (p *workerPanic) Error() string {
	return fmt.Sprintf("%v\n\nworker goroutine:\n%s", p.val, p.stack)
}

func (u *ui) handle(ev tcell.Event) {
	switch ev := ev.(type) {
	case *tcell.EventResize:
		u.screen.Sync()
	case *tcell.EventInterrupt:
		// Code to run on the screen goroutine, in order with the events.
		if fn, ok := ev.Data().(func()); ok {
			fn()
		}
	case *tcell.EventPaste:
		if ev.Start() {
			u.ed.pasting = true
			u.ed.paste.Reset()
		} else if u.ed.pasting {
			if !u.ed.endPaste() {
				u.hint = fmt.Sprintf("the paste was cut: the input holds at most %d KiB", maxInput>>10)
			}
		}
	case *tcell.EventKey:
		u.key(ev)
	case *tcell.EventMouse:
		b := ev.Buttons()
		switch {
		case b&tcell.WheelUp != 0:
			u.bound("WheelUp")
		case b&tcell.WheelDown != 0:
			u.bound("WheelDown")
		}
	}
}

// bound runs the command bound to a key name, if any.
func (u *ui) bound(name string) bool {
	cmd, ok := u.keys[name]
	if ok {
		u.run(cmd)
	}
	return ok
}

func (u *ui) key(ev *tcell.EventKey) {
	if u.ed.pasting {
		u.ed.pasteKey(ev)
		return
	}
	u.hint = ""
	if u.confirm != nil {
		c := u.confirm
		u.confirm = nil
		name := KeyName(ev)
		if name == "y" || name == "Y" || name == "Ctrl+C" {
			c.yes()
		} else {
			u.hint = "carrying on"
		}
		return
	}
	if u.bound(KeyName(ev)) {
		return
	}
	if ev.Key() == tcell.KeyEnter && ev.Modifiers() == 0 {
		u.submit()
		return
	}
	u.ed.key(ev)
}

// submit sends the input: a /command or a line of the story.
func (u *ui) submit() {
	text := u.ed.text
	trim := strings.TrimSpace(text)
	if trim == "" {
		return
	}
	if strings.HasPrefix(trim, "/") && !strings.HasPrefix(trim, "//") {
		if c := u.lookup(trim); c != nil && c.local == nil && u.job != nil {
			u.hint = "busy with " + u.job.name + ": wait, or Esc to cancel it"
			return
		}
		u.ed.remember(trim)
		u.ed.take()
		u.run(trim)
		return
	}
	if u.job != nil {
		u.hint = "a reply is on its way: wait, or Esc to cancel it (your line stays here)"
		return
	}
	if strings.HasPrefix(trim, "//") {
		text = strings.TrimPrefix(strings.TrimLeft(text, " \n"), "/")
	}
	u.ed.remember(text)
	u.ed.take()
	u.say(text)
}

// say adds a system line.
func (u *ui) system(k kind, text string) {
	u.tr.add(systemEntry(k, text))
}

// notice shows an asynchronous notice.
func (u *ui) notice(n string) {
	u.system(kindNotice, n)
	u.refresh()
}

// draw paints the whole screen.
func (u *ui) draw() {
	s := u.screen
	s.Fill(' ', tcell.StyleDefault)
	w, h := s.Size()
	if w <= 0 || h <= 0 {
		s.Show()
		return
	}
	u.tr.spinFrame = u.spinner()
	inputH := 1
	if u.confirm == nil {
		inputH = u.ed.height(w, max(1, h/4))
	}
	statusH := 0
	if h-inputH >= 2 {
		statusH = 1
	}
	trH := h - inputH - statusH
	panelW := 0
	if u.panelOn && w >= minPanelWidth && trH >= 3 {
		panelW = min(maxPanel, w*2/5)
	}
	trW := w
	if panelW > 0 {
		trW = w - panelW - 1
	}
	s.HideCursor()
	u.tr.draw(s, 0, 0, trW, trH)
	if panelW > 0 {
		for y := 0; y < trH; y++ {
			s.Put(trW, y, "│", stMarker)
		}
		u.pn.draw(s, trW+1, 0, panelW, trH)
	}
	if statusH > 0 {
		u.drawStatus(s, trH, w)
	}
	if u.confirm != nil {
		putString(s, 0, h-1, w, truncate(u.confirm.question, w), stConfirm)
		s.ShowCursor(min(textWidth(u.confirm.question), w-1), h-1)
	} else {
		prompt := "> "
		if u.job != nil {
			prompt = "… "
		}
		u.ed.draw(s, 0, trH+statusH, w, inputH, prompt, stPrompt)
	}
	s.Show()
	if u.opts.drawn != nil {
		u.opts.drawn()
	}
}

var stConfirm = tcell.StyleDefault.Bold(true).Foreground(tcell.ColorYellow)

// spinFrames animate waiting.
var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

const spinEvery = 100 * time.Millisecond

func (u *ui) spinner() string {
	if u.job == nil {
		return spinFrames[0]
	}
	return spinFrames[int(time.Since(u.job.started)/spinEvery)%len(spinFrames)]
}

// goWork runs work on a worker goroutine; the closure it returns runs on
// the screen goroutine. A panic in work is re-raised on the screen
// goroutine, where Run restores the terminal first. While the job runs the
// screen redraws at the spinner's pace.
func (u *ui) goWork(j *job, work func() func()) {
	go func() {
		var fin func()
		defer func() {
			if r := recover(); r != nil {
				p := &workerPanic{val: r, stack: debug.Stack()}
				fin = func() { panic(p) }
			}
			close(j.done)
			u.post(fin)
		}()
		fin = work()
	}()
	go func() {
		t := time.NewTicker(spinEvery)
		defer t.Stop()
		for {
			select {
			case <-j.done:
				return
			case <-t.C:
				u.invalidate()
			}
		}
	}()
}
