package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"diorama/core"
)

// Import creates a new save at path holding evs — a path from the root,
// as core.ReadSession returns it, with its seqs kept — as branch, checked
// out, with every projection rebuilt. It never overwrites anything (path
// must not exist: ErrExists) and leaves nothing at path when it fails: the
// save is built under a temporary name and linked into place at the end.
func Import(ctx context.Context, path string, evs []core.Event, branch string) error {
	if branch == "" {
		branch = DefaultBranch
	}
	if err := core.CheckBranchName(branch); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if len(evs) == 0 || evs[0].Type != core.TypeWorldCreated {
		return errors.New("import: the events must start with the creation of the world")
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("import into %s: %w", path, ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("import into %s: %w", path, err)
	}
	p, err := evs[0].Decode()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	world := p.(*core.WorldCreated).World
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".importing-*")
	if err != nil {
		return fmt.Errorf("import into %s: %w", path, err)
	}
	tmp := f.Name()
	f.Close()
	defer removeSave(tmp)
	if err := importInto(ctx, tmp, world.ID, evs, branch); err != nil {
		return fmt.Errorf("import into %s: %w", path, err)
	}
	if err := quiesce(ctx, tmp); err != nil {
		return fmt.Errorf("import into %s: %w", path, err)
	}
	// A hard link fails if path appeared meanwhile; a rename would replace it.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("import into %s: %w", path, ErrExists)
		}
		return fmt.Errorf("import into %s: %w", path, err)
	}
	return nil
}

func importInto(ctx context.Context, path, worldID string, evs []core.Event, branch string) error {
	s, err := start(path)
	if err != nil {
		return err
	}
	if err := s.migrate(ctx, 0); err != nil {
		s.Close()
		return err
	}
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		meta := map[string]string{"format": Format, "world_id": worldID, "created_at": tx.now.Format(time.RFC3339), metaBranch: branch}
		for k, v := range meta {
			if err := setMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO events(seq, parent, depth, branch, turn, type, version, payload, mask, caused_by, world_time, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		var prev int64
		for i := range evs {
			e := &evs[i]
			if e.Seq <= prev || e.Parent != prev {
				return fmt.Errorf("event %d of %d is numbered %d (parent %d): not a path", i+1, len(evs), e.Seq, e.Parent)
			}
			prev = e.Seq
			written := e.Branch
			if written == "" {
				written = branch
			}
			created := e.CreatedAt
			if created.IsZero() {
				created = tx.now
			}
			if _, err := stmt.ExecContext(ctx, e.Seq, nullSeq(e.Parent), int64(i), written, e.Turn, e.Type, e.Version, string(e.Payload),
				int64(e.Mask), nullSeq(e.CausedBy), e.WorldTime, created.UTC().UnixMicro()); err != nil {
				return fmt.Errorf("event %d: %w", e.Seq, err)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO heads(name, seq) VALUES (?, ?)`, branch, prev)
		return err
	})
	if err == nil {
		_, _, err = s.Rebuild(ctx, branch)
	}
	return errors.Join(err, s.Close())
}
