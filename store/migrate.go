package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema step: migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded steps in order; it panics on a misnamed or
// missing file, a build defect any test catches.
var migrations = func() []migration {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	var out []migration
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".sql")
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			panic("store: migration file " + n + " does not start with a number")
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			panic(err)
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			panic(fmt.Sprintf("store: migration %s: want version %d", m.name, i+1))
		}
	}
	return out
}()

// latestVersion is the schema version this build writes.
func latestVersion() int { return len(migrations) }

// migrate applies the migrations after version, each in its own transaction
// on the writer, recording it in schema_migrations and meta.
func (s *Store) migrate(ctx context.Context, version int) error {
	for _, m := range migrations[version:] {
		err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, tx.now.Format(time.RFC3339)); err != nil {
				return err
			}
			return setMeta(ctx, tx, "schema_version", strconv.Itoa(m.version))
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// setMeta sets a meta key.
func setMeta(ctx context.Context, tx *wtx, key, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("set meta %s: %w", key, err)
	}
	return nil
}

// SchemaVersion is the schema version this build writes: the number of
// embedded migrations.
func SchemaVersion() int { return latestVersion() }
