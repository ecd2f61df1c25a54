package lua

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long a pack folder must stay quiet after a change
// before Watch reloads it. Editors write a file in several steps (truncate,
// write, rename), and a checkout touches many files: one reload follows
// them all. It is short enough to keep "save to new rules" under 100 ms.
const DefaultDebounce = 50 * time.Millisecond

// Watcher reloads a pack when its files change.
type Watcher struct {
	fw       *fsnotify.Watcher
	dir      string
	opts     Options
	debounce time.Duration
	onReload func(*Pack)
	onError  func(error)
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once

	lastHash string // of the rules the host runs (the last good load)
	failed   bool   // the last attempt failed: reload even if the hash is back to lastHash
}

// Watch watches the pack folder dir (subfolders too; tests/ and hidden
// folders excluded) and, once changes to its .lua files have settled for
// debounce (0: DefaultDebounce), loads the pack afresh in a new VM. A good
// load is handed to onReload, which owns the new Pack (and should Close the
// one it replaces, between turns); a failed one calls onError with the
// *LoadError (every problem with its file:line) and keeps nothing, so the
// host goes on with the rules it has. A save that leaves the rules
// byte-for-byte unchanged reloads nothing. Callbacks run on the watcher's
// goroutine, one at a time; they must not call Close.
func Watch(dir string, opts Options, debounce time.Duration, onReload func(*Pack), onError func(error)) (*Watcher, error) {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	w := &Watcher{fw: fw, dir: dir, opts: opts, debounce: debounce, onReload: onReload, onError: onError, done: make(chan struct{})}
	if err := w.addTree(dir); err != nil {
		fw.Close()
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	if _, hash, err := readPack(dir); err == nil {
		w.lastHash = hash
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// Close stops watching. It waits for a reload in progress to finish.
func (w *Watcher) Close() error {
	var err error
	w.once.Do(func() {
		close(w.done)
		err = w.fw.Close()
		w.wg.Wait()
	})
	return err
}

// skipDir reports whether a folder of the pack is not rules.
func (w *Watcher) skipDir(path string) bool {
	rel, err := filepath.Rel(w.dir, path)
	if err != nil || rel == "." {
		return false
	}
	base := filepath.Base(path)
	return strings.HasPrefix(base, ".") || filepath.ToSlash(rel) == "tests"
}

func (w *Watcher) addTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if w.skipDir(path) {
			return filepath.SkipDir
		}
		return w.fw.Add(path)
	})
}

// relevant reports whether an event may change the pack's rules.
func (w *Watcher) relevant(ev fsnotify.Event) bool {
	rel, err := filepath.Rel(w.dir, ev.Name)
	if err != nil || strings.HasPrefix(rel, "..") {
		return false
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if parts[0] == "tests" {
		return false
	}
	for _, p := range parts {
		if strings.HasPrefix(p, ".") {
			return false
		}
	}
	switch filepath.Ext(ev.Name) {
	case ".lua":
		return true
	case "":
		// A folder created, removed or renamed may hold modules.
		return ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
	}
	return false
}

// errorGrace is how long a failed load waits before it is reported: a
// file caught half-written (an editor truncates, then writes) fails to load,
// and the write that completes it arrives within moments and reloads it.
const errorGrace = 250 * time.Millisecond

func (w *Watcher) loop() {
	defer w.wg.Done()
	var timer, grace *time.Timer
	var fire, report <-chan time.Time
	var pending error
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		if grace != nil {
			grace.Stop()
		}
	}()
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() && !w.skipDir(ev.Name) {
					_ = w.addTree(ev.Name) // a new subfolder: watch it too
				}
			}
			if !w.relevant(ev) {
				continue
			}
			// A newer change supersedes a failure not yet reported.
			pending, report = nil, nil
			if timer == nil {
				timer = time.NewTimer(w.debounce)
			} else {
				timer.Reset(w.debounce)
			}
			fire = timer.C
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			if w.onError != nil {
				w.onError(fmt.Errorf("watch %s: %w", w.dir, err))
			}
		case <-fire:
			fire = nil
			if err := w.reload(); err != nil {
				pending = err
				if grace == nil {
					grace = time.NewTimer(errorGrace)
				} else {
					grace.Reset(errorGrace)
				}
				report = grace.C
			}
		case <-report:
			report = nil
			if pending != nil && w.onError != nil {
				w.onError(pending)
			}
			pending = nil
		}
	}
}

// reload loads the pack afresh and hands it over; a failure is returned
// for the loop to report once the files have settled.
func (w *Watcher) reload() error {
	files, hash, err := readPack(w.dir)
	if err == nil && hash == w.lastHash && !w.failed {
		return nil
	}
	var p *Pack
	if err == nil {
		p, err = load(w.dir, w.opts, files, hash)
	}
	if err != nil {
		w.failed = true
		return err
	}
	if _, now, rerr := readPack(w.dir); rerr != nil || now != hash {
		// The files changed while they loaded: the event of that change
		// brings another reload; these rules are already stale.
		p.Close()
		return nil
	}
	w.lastHash, w.failed = hash, false
	if w.onReload != nil {
		w.onReload(p)
	} else {
		p.Close()
	}
	return nil
}
