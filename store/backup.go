package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Backups: a consistent copy of a save, taken online with VACUUM INTO on
// the read pool (turns go on meanwhile), kept in a folder next to the save
// (SAVE without its extension, plus ".backups") and rotated.

// DefaultBackupKeep is how many backups a save keeps by default.
const DefaultBackupKeep = 10

// BackupDir returns the folder that holds path's backups: for
// saves/night.db, saves/night.backups.
func BackupDir(path string) string {
	return filepath.Join(filepath.Dir(path), backupBase(path)+".backups")
}

func backupBase(path string) string {
	base := filepath.Base(path)
	if ext := filepath.Ext(base); ext != "" && ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

// Backup writes a consistent copy of the save to dest, which must not
// exist. The copy is made under a temporary name and renamed when
// complete, so dest is never a half-written file.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("back up to %s: %w", dest, ErrExists)
	}
	tmp := dest + ".partial"
	_ = os.Remove(tmp)
	if _, err := s.rdb.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("back up to %s: %w", dest, err)
	}
	if err := syncFile(tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("back up to %s: %w", dest, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("back up to %s: %w", dest, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// BackupRotated backs the save up into BackupDir, named by the time and
// reason (SAVE-20240601T210000.000Z-REASON.db), and removes the oldest
// backups beyond keep (DefaultBackupKeep when keep < 1). It returns the
// backup's path.
func (s *Store) BackupRotated(ctx context.Context, reason string, keep int) (string, error) {
	dir := BackupDir(s.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("make backup folder: %w", err)
	}
	dest := backupName(s.path, reason, s.now())
	if err := s.Backup(ctx, dest); err != nil {
		return "", err
	}
	if err := rotate(s.path, keep); err != nil {
		return dest, fmt.Errorf("rotate backups: %w", err)
	}
	return dest, nil
}

// backupName names a backup of path taken at t for reason; a name taken
// already gets a counter.
func backupName(path, reason string, t time.Time) string {
	var r strings.Builder
	for _, c := range strings.ToLower(reason) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			r.WriteRune(c)
		default:
			r.WriteByte('-')
		}
	}
	stem := filepath.Join(BackupDir(path), backupBase(path)+"-"+t.UTC().Format("20060102T150405.000Z"))
	if r.Len() > 0 {
		stem += "-" + strings.Trim(r.String(), "-")
	}
	name := stem + ".db"
	for i := 2; exists(name) || exists(name+".partial"); i++ {
		name = fmt.Sprintf("%s.%d.db", stem, i)
	}
	return name
}

// Backups lists the backups of the save at path, oldest first.
func Backups(path string) ([]string, error) {
	dir := BackupDir(path)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	prefix := backupBase(path) + "-"
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ".db") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out) // the timestamp sorts them
	return out, nil
}

// rotate removes path's oldest backups beyond keep.
func rotate(path string, keep int) error {
	if keep < 1 {
		keep = DefaultBackupKeep
	}
	all, err := Backups(path)
	if err != nil {
		return err
	}
	for len(all) > keep {
		if err := os.Remove(all[0]); err != nil {
			return err
		}
		all = all[1:]
	}
	return nil
}

// LastBackup returns when the newest backup of path was taken (zero if
// there is none), from its file's modification time.
func LastBackup(path string) time.Time {
	all, err := Backups(path)
	if err != nil || len(all) == 0 {
		return time.Time{}
	}
	fi, err := os.Stat(all[len(all)-1])
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// ErrInUse: the save is open in another process.
var ErrInUse = errors.New("the save is open in another program: close it first")

// Restore replaces the save at path with a copy of the save in file. The
// save being replaced, if any, is backed up first (rotated with the
// others); without that backup nothing is replaced. The copy is checked
// (and migrated if older) under a temporary name and then renamed over
// path, so path is at every moment either the old save or the new one. It
// returns the backup of the old save ("" when there was none).
func Restore(ctx context.Context, path, file string, keep int) (string, error) {
	if sameFile(path, file) {
		return "", errors.New("restore: that is the save itself")
	}
	if _, err := inspect(file); err != nil {
		return "", fmt.Errorf("restore from %s: %w", file, err)
	}
	if exists(path) {
		if err := quiesce(ctx, path); err != nil && !errors.Is(err, ErrNotSave) {
			return "", fmt.Errorf("restore: nothing replaced: %w", err)
		}
	}
	backup, err := backupBeforeRestore(ctx, path, keep)
	if err != nil {
		return "", err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".restoring")
	removeSave(tmp)
	if err := copySave(ctx, file, tmp); err != nil {
		removeSave(tmp)
		return backup, fmt.Errorf("restore: copy %s: %w", file, err)
	}
	s, err := Open(tmp)
	if err == nil {
		_, err = s.OpenBranch(ctx)
		err = errors.Join(err, s.Close())
	}
	if err != nil {
		removeSave(tmp)
		return backup, fmt.Errorf("restore: %s does not open as a save: %w", file, err)
	}
	if err := quiesce(ctx, tmp); err != nil {
		removeSave(tmp)
		return backup, fmt.Errorf("restore: nothing replaced: %w", err)
	}
	if exists(path) {
		// The old save's log must not outlive it: a -wal left beside the
		// new file would be read as the new file's.
		if err := quiesce(ctx, path); err != nil {
			removeSave(tmp)
			return backup, fmt.Errorf("restore: nothing replaced: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		removeSave(tmp)
		return backup, fmt.Errorf("restore: %w", err)
	}
	return backup, nil
}

// quiesce makes sure no other connection has the save at path open, folds
// its write-ahead log into the file and removes the log and its index, so
// the file alone holds the save. It fails with ErrInUse when another
// program has the save open.
func quiesce(ctx context.Context, path string) error {
	db, err := sql.Open(driverName, fileURI(path)+"?_locking_mode=EXCLUSIVE&_busy_timeout=0")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil {
		db.Close()
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
			return ErrInUse
		}
		return err
	}
	var busy, logged, done int
	if err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	if busy != 0 {
		return ErrInUse
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// backupBeforeRestore backs up the save at path, if there is one, and
// makes sure no other process has it open.
func backupBeforeRestore(ctx context.Context, path string, keep int) (string, error) {
	if !exists(path) {
		return "", nil
	}
	s, err := Open(path)
	if err != nil {
		// Not a save this build opens: keep its bytes as they are.
		return rawBackup(path, keep)
	}
	backup, err := s.BackupRotated(ctx, "before-restore", keep)
	err = errors.Join(err, s.Close())
	if err != nil {
		return "", fmt.Errorf("restore: nothing replaced: the backup of %s failed: %w", path, err)
	}
	return backup, nil
}

// rawBackup copies a file that does not open as a save into the backup
// folder byte for byte.
func rawBackup(path string, keep int) (string, error) {
	if err := os.MkdirAll(BackupDir(path), 0o755); err != nil {
		return "", err
	}
	dest := backupName(path, "before-restore-raw", time.Now())
	for _, suffix := range []string{"", "-wal"} {
		if suffix != "" && !exists(path+suffix) {
			continue
		}
		if err := copyFile(path+suffix, dest+suffix); err != nil {
			return "", fmt.Errorf("restore: nothing replaced: the backup of %s failed: %w", path, err)
		}
	}
	return dest, rotate(path, keep)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copySave writes a consistent copy of the save in file to dest with
// VACUUM INTO, reading file without writing to it.
func copySave(ctx context.Context, file, dest string) error {
	params := "?immutable=1"
	if exists(file+"-wal") || exists(file+"-journal") {
		params = "?mode=ro"
	}
	db, err := sql.Open(driverName, fileURI(file)+params+"&_busy_timeout=5000")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return err
	}
	return syncFile(dest)
}

func removeSave(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		_ = os.Remove(path + suffix)
	}
}

// sameFile reports whether a and b name the same file.
func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return os.SameFile(fa, fb)
}
