package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"diorama/core"
)

func init() {
	register(&command{
		name:    "export",
		usage:   "--db SAVE [--branch B] [--format jsonl|md] [-o FILE]",
		summary: "export a branch as a session file (jsonl, for import-session and replays) or a transcript (md)",
		run:     runExport,
	})
}

func runExport(e *env, args []string) error {
	fs := newFlags(e, "export")
	db := fs.String("db", "", "save file")
	branch := fs.String("branch", "", "branch to export (default: the checked-out one)")
	format := fs.String("format", "jsonl", "jsonl (a session file) or md (a transcript to read)")
	out := fs.String("o", "", "write to FILE instead of standard output")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *format != "jsonl" && *format != "md" {
		return &exitError{code: 2, msg: fmt.Sprintf("--format %q: want jsonl or md", *format)}
	}
	if *out != "" {
		if err := refuseSave(*out); err != nil {
			return err
		}
	}
	ctx := context.Background()
	st, err := openSave(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	name := *branch
	if name == "" {
		if name, err = st.CurrentBranch(ctx); err != nil {
			return err
		}
	}
	evs, err := st.Events(ctx, name)
	if err != nil {
		return travelError(err, "'diorama branches'")
	}
	var buf bytes.Buffer
	switch *format {
	case "jsonl":
		h := core.SessionHeader{Branch: name, ExportedAt: time.Now().UTC().Format(time.RFC3339)}
		if err := core.WriteSession(&buf, h, evs); err != nil {
			return err
		}
	case "md":
		if err := writeMarkdown(&buf, name, evs); err != nil {
			return err
		}
	}
	if *out == "" {
		_, err := e.stdout.Write(buf.Bytes())
		return err
	}
	return writeFileAtomic(*out, buf.Bytes())
}

// refuseSave refuses to write over a diorama save (or any SQLite file): an
// -o pointing at the save by mistake must not destroy it.
func refuseSave(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	head := make([]byte, 16)
	if n, _ := io.ReadFull(f, head); n == 16 && string(head) == "SQLite format 3\x00" {
		return fmt.Errorf("%s is a database (a save?): refusing to write over it", path)
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file renamed into
// place: path is the old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeMarkdown renders a branch as a transcript people read: a heading per
// scene with its place and world time, the lines, time skips and story
// events, and an appendix with each bot's own summary of each scene.
func writeMarkdown(w io.Writer, branch string, evs []core.Event) error {
	st := core.NewState()
	name := func(id string) string { return displayName(st, id) }
	var b, appendix strings.Builder
	heading := func(label string) {
		fmt.Fprintf(&b, "## Scene %d — %s, %s", st.Scene, placeName(st, st.Entities[st.Cast.Player].Location), st.NowString())
		if label != "" {
			fmt.Fprintf(&b, " (%s)", label)
		}
		b.WriteString("\n\n")
	}
	for i := range evs {
		ev := &evs[i]
		if err := st.Apply(ev); err != nil {
			return err
		}
		p, err := ev.Decode()
		if err != nil {
			return err
		}
		switch p := p.(type) {
		case *core.WorldCreated:
			title := p.World.Title
			if title == "" {
				title = p.World.ID
			}
			fmt.Fprintf(&b, "# %s\n\n_Branch %s, %d events, exported %s._\n\n", title, branch, len(evs), time.Now().UTC().Format("2006-01-02"))
			heading("")
		case *core.LineSaid:
			text := strings.ReplaceAll(strings.TrimSpace(p.Text), "\n", "  \n")
			fmt.Fprintf(&b, "**%s:** %s\n\n", name(p.Who), text)
		case *core.SceneEnded:
			heading("")
		case *core.TimeSkipped:
			label := p.Label
			if label == "" {
				label = fmt.Sprintf("%d minutes later", p.Minutes)
			}
			if p.Kind == "jump" {
				heading(label)
			} else {
				fmt.Fprintf(&b, "_… %s (%s) …_\n\n", label, st.NowString())
			}
		case *core.StoryEventChanged:
			verb := map[string]string{core.TypeEventStarted: "begins", core.TypeEventCompleted: "ends", core.TypeEventCancelled: "is called off"}[ev.Type]
			title := p.Event
			if se := st.Events[p.Event]; se != nil && se.Title != "" {
				title = se.Title
			}
			line := fmt.Sprintf("_%s %s._", title, verb)
			if p.Gist != "" {
				line = fmt.Sprintf("_%s %s: %s_", title, verb, p.Gist)
			}
			fmt.Fprintf(&b, "%s\n\n", line)
		case *core.SummaryWritten:
			fmt.Fprintf(&appendix, "- **%s**, scene %d: %s\n", name(p.Who), p.Scene, strings.ReplaceAll(p.Text, "\n", " "))
		}
	}
	if appendix.Len() > 0 {
		b.WriteString("---\n\n## How each remembers it\n\nEach bot's own summary of each closed scene, written from its point of view.\n\n")
		b.WriteString(appendix.String())
	}
	_, err := io.WriteString(w, b.String())
	return err
}
