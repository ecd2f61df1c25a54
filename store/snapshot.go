package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"diorama/core"
)

// SnapshotEvery is the snapshot interval in events of depth: a turn whose
// events reach a multiple of it gets a snapshot of the state after it.
const SnapshotEvery = 500

// stateFormat is bumped by hand when the meaning of core.State changes
// without its shape changing (the shape itself is fingerprinted below).
const stateFormat = 1

// typeShape describes a type's JSON shape: struct fields with their json
// names and types, recursively. A change to core.State's shape changes the
// snapshot format on its own, so nobody has to remember to bump it.
func typeShape(t reflect.Type, seen map[reflect.Type]bool) string {
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeShape(t.Elem(), seen)
	case reflect.Slice:
		return "[]" + typeShape(t.Elem(), seen)
	case reflect.Map:
		return "map[" + t.Key().Kind().String() + "]" + typeShape(t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return t.Name()
		}
		seen[t] = true
		var b strings.Builder
		b.WriteString("{")
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			fmt.Fprintf(&b, "%s:%s %s;", f.Name, f.Tag.Get("json"), typeShape(f.Type, seen))
		}
		b.WriteString("}")
		return b.String()
	}
	return t.Kind().String()
}

// snapshotFormat names the projection that wrote a snapshot: the state
// format and every registered event type with its version. A build that
// projects differently (a new payload version, an upcast) ignores the old
// snapshots and replays instead.
var snapshotFormat = func() string {
	h := sha256.New()
	h.Write([]byte("state:" + strconv.Itoa(stateFormat) + ":" + typeShape(reflect.TypeOf(core.State{}), map[reflect.Type]bool{})))
	for _, t := range core.EventTypes() {
		fmt.Fprintf(h, ";%s=%d", t, core.CurrentVersion(t))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}()

// crosses reports whether a turn that took the path from depth prev (-1:
// empty) to depth last reached a multiple of SnapshotEvery.
func crosses(prev, last int64) bool {
	if prev < 0 {
		return true
	}
	return prev/SnapshotEvery != last/SnapshotEvery
}

// encodeSnapshot is the stored form of a state.
func encodeSnapshot(st *core.State) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("encode snapshot at %d: %w", st.LastSeq, err)
	}
	return string(b), nil
}

// decodeSnapshot reads a snapshot taken after event seq.
func decodeSnapshot(seq int64, data string) (*core.State, error) {
	st := core.NewState()
	if err := json.Unmarshal([]byte(data), st); err != nil {
		return nil, fmt.Errorf("snapshot at event %d: %w (rebuild the save to replace it)", seq, err)
	}
	if st.LastSeq != seq {
		return nil, fmt.Errorf("snapshot at event %d: holds the state at event %d (rebuild the save to replace it)", seq, st.LastSeq)
	}
	if err := checkMaps(st); err != nil {
		return nil, fmt.Errorf("snapshot at event %d: %w (rebuild the save to replace it)", seq, err)
	}
	return st, nil
}

// checkMaps refuses a decoded state that Apply could not work on: a state
// built by Apply never has a nil map or a nil entry.
func checkMaps(st *core.State) error {
	if st.Entities == nil || st.Locations == nil || st.Containers == nil || st.Edges == nil ||
		st.Events == nil || st.Threads == nil || st.Pinned == nil {
		return fmt.Errorf("a table of the state is null")
	}
	for k, v := range st.Entities {
		if v == nil {
			return fmt.Errorf("entity %q is null", k)
		}
	}
	for k, v := range st.Containers {
		if v == nil || v.Slots == nil {
			return fmt.Errorf("container %q is null", k)
		}
		for n, sl := range v.Slots {
			if sl == nil {
				return fmt.Errorf("slot %q of container %q is null", n, k)
			}
		}
	}
	for k, v := range st.Locations {
		if v == nil {
			return fmt.Errorf("location %q is null", k)
		}
	}
	for k, v := range st.Edges {
		if v == nil {
			return fmt.Errorf("edge %q is null", k)
		}
	}
	for k, v := range st.Events {
		if v == nil {
			return fmt.Errorf("story event %q is null", k)
		}
	}
	for k, v := range st.Threads {
		if v == nil {
			return fmt.Errorf("thread %q is null", k)
		}
	}
	return nil
}

// writeSnapshot stores the state after event seq.
func writeSnapshot(ctx context.Context, tx *wtx, st *core.State) error {
	data, err := encodeSnapshot(st)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO snapshots(seq, format, state) VALUES (?, ?, ?)`, st.LastSeq, snapshotFormat, data); err != nil {
		return fmt.Errorf("write snapshot at %d: %w", st.LastSeq, err)
	}
	return nil
}
