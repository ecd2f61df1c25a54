package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"diorama/core"
)

// The SQL projection tables reflect one branch: the one last written,
// moved or rebuilt (meta key projection_seq holds its head). AppendTurn
// keeps them current turn by turn and Rebuild rewrites them whole; both go
// through projectRows and writeRows, so the two cannot drift apart.

// tables is a set of the projection tables derived from core.State.
type tables uint8

const (
	tEntities tables = 1 << iota
	tEdges
	tStoryEvents
	tThreads
	tAll = tEntities | tEdges | tStoryEvents | tThreads
)

// Memory kinds (core's, named here for the store's callers).
const (
	KindEpisodic = core.KindEpisodic // an utterance or an observation
	KindSemantic = core.KindSemantic // a learned fact
	KindSummary  = core.KindSummary  // a per-POV scene summary
)

// memoryRow is one row of the memories table before it is written.
type memoryRow struct {
	id        int64 // the source event's seq
	kind      string
	who       string
	mask      core.Mask
	text      string
	worldTime int64
}

// rows is what a run of events does to the projection tables.
type rows struct {
	dirty    tables      // state-derived tables to rewrite from the state
	memories []memoryRow // new memory rows
	pins     []int64     // memories pinned

	replaceMemories bool // delete every memory row before inserting
	resetPins       bool // set every pinned flag from the state
}

// projectRows maps events (in path order) to projection rows. It is the one
// place that knows which event touches which table.
func projectRows(evs []core.Event) (rows, error) {
	var r rows
	for i := range evs {
		e := &evs[i]
		switch e.Type {
		case core.TypeWorldCreated:
			r.dirty |= tAll
		case core.TypeEntityMoved, core.TypeContainerMoved, core.TypeMoodSet, core.TypeGoalsSet,
			core.TypeActivitySet, core.TypeItemHeld, core.TypeItemDropped, core.TypeItemGiven,
			core.TypeAttentionSet:
			r.dirty |= tEntities
		case core.TypeRelationshipAdjust:
			r.dirty |= tEdges
		case core.TypeEventStarted, core.TypeEventCompleted, core.TypeEventCancelled, core.TypeItemPromoted:
			// Ending an event or promoting a prop changes who holds what.
			r.dirty |= tStoryEvents | tEntities
		case core.TypeThreadOpened, core.TypeThreadResolved:
			r.dirty |= tThreads
		case core.TypeTimeAdvanced, core.TypeTimeSkipped, core.TypeSceneEnded, core.TypePackLoaded:
			// Clock, scene and pack live in the state only.
		case core.TypeStateUpdate, core.TypeHookFailed:
			// Records only: their effects are the events that follow.
		case core.TypeFactNoted, core.TypeLineSaid, core.TypeSummaryWritten:
			p, err := e.Decode()
			if err != nil {
				return r, err
			}
			kind, who, text, ok := core.MemoryOf(p)
			if !ok {
				return r, fmt.Errorf("event %d: %s payload is %T", e.Seq, e.Type, p)
			}
			r.memories = append(r.memories, memoryRow{id: e.Seq, kind: kind, who: who, mask: e.Mask, text: text, worldTime: e.WorldTime})
		case core.TypeMemoryPinned:
			p, err := e.Decode()
			if err != nil {
				return r, err
			}
			m, ok := p.(*core.MemoryPinned)
			if !ok {
				return r, fmt.Errorf("event %d: %s payload is %T", e.Seq, e.Type, p)
			}
			r.pins = append(r.pins, m.Memory)
		default:
			// A type this mapping does not know yet: rewrite everything
			// derived from the state rather than leave a table stale.
			r.dirty |= tAll
		}
	}
	return r, nil
}

// memoryTypes are the event types projectRows turns into memory rows.
var memoryTypes = core.MemoryTypes

// writeRows writes r, with st the state after the events r came from. sig
// carries significance scores to keep across a rewrite (may be nil).
func writeRows(ctx context.Context, tx *wtx, r *rows, st *core.State, sig map[int64]float64) error {
	if r.dirty&tEntities != 0 {
		ids := sortedKeys(st.Entities)
		vals := make([]string, len(ids))
		for i, id := range ids {
			b, err := json.Marshal(st.Entities[id])
			if err != nil {
				return fmt.Errorf("entity %s: %w", id, err)
			}
			vals[i] = string(b)
		}
		err := replaceAll(ctx, tx, "entities", []string{"id", "json"}, len(ids), func(i int, args []any) []any {
			return append(args, ids[i], vals[i])
		})
		if err != nil {
			return err
		}
	}
	if r.dirty&tEdges != 0 {
		keys := sortedKeys(st.Edges)
		err := replaceAll(ctx, tx, "edges", []string{"from_id", "to_id", "affinity", "trust", "notes"}, len(keys), func(i int, args []any) []any {
			e := st.Edges[keys[i]]
			notes := "[]"
			if len(e.Notes) > 0 {
				b, _ := json.Marshal(e.Notes) // []string cannot fail
				notes = string(b)
			}
			return append(args, e.From, e.To, e.Affinity, e.Trust, notes)
		})
		if err != nil {
			return err
		}
	}
	if r.dirty&tStoryEvents != 0 {
		ids := sortedKeys(st.Events)
		vals := make([]string, len(ids))
		for i, id := range ids {
			b, err := json.Marshal(st.Events[id])
			if err != nil {
				return fmt.Errorf("story event %s: %w", id, err)
			}
			vals[i] = string(b)
		}
		err := replaceAll(ctx, tx, "story_events", []string{"id", "status", "json"}, len(ids), func(i int, args []any) []any {
			return append(args, ids[i], st.Events[ids[i]].Status, vals[i])
		})
		if err != nil {
			return err
		}
	}
	if r.dirty&tThreads != 0 {
		ids := sortedKeys(st.Threads)
		err := replaceAll(ctx, tx, "threads", []string{"id", "status", "text"}, len(ids), func(i int, args []any) []any {
			t := st.Threads[ids[i]]
			return append(args, ids[i], t.Status, t.Text)
		})
		if err != nil {
			return err
		}
	}
	if r.replaceMemories {
		if err := dropMemories(ctx, tx, 0); err != nil {
			return fmt.Errorf("clear memories: %w", err)
		}
	}
	err := insertRows(ctx, tx, "memories", []string{"id", "kind", "who", "mask", "text", "world_time", "pinned", "significance"}, len(r.memories), func(i int, args []any) []any {
		m := r.memories[i]
		var score any
		if v, ok := sig[m.id]; ok {
			score = v
		}
		return append(args, m.id, m.kind, m.who, int64(m.mask), m.text, m.worldTime, st.Pinned[m.id], score)
	})
	if err != nil {
		return err
	}
	if len(r.memories) > 0 {
		added := make([]memInput, len(r.memories))
		for i, m := range r.memories {
			v, scored := sig[m.id]
			added[i] = memInput{id: m.id, kind: m.kind, who: m.who, mask: m.mask, text: m.text, worldTime: m.worldTime,
				pinned: st.Pinned[m.id], sig: v, hasSig: scored}
		}
		tx.memAdded(added)
	}
	pins := r.pins
	if r.resetPins {
		if _, err := tx.ExecContext(ctx, `UPDATE memories SET pinned = 0 WHERE pinned <> 0`); err != nil {
			return fmt.Errorf("reset pins: %w", err)
		}
		tx.memPinsCleared()
		pins = pins[:0:0]
		for id, on := range st.Pinned {
			if on {
				pins = append(pins, id)
			}
		}
		sort.Slice(pins, func(i, j int) bool { return pins[i] < pins[j] })
	}
	for len(pins) > 0 {
		n := min(len(pins), batchRows)
		args := make([]any, n)
		for i, id := range pins[:n] {
			args[i] = id
		}
		q := `UPDATE memories SET pinned = 1 WHERE id IN (` + placeholders(n) + `)`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("pin memories: %w", err)
		}
		tx.memPinned(pins[:n], true)
		pins = pins[n:]
	}
	return nil
}

// batchRows is how many rows one INSERT carries.
const batchRows = 200

// replaceAll empties table and inserts n rows.
func replaceAll(ctx context.Context, tx *wtx, table string, cols []string, n int, row func(i int, args []any) []any) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
		return fmt.Errorf("clear %s: %w", table, err)
	}
	return insertRows(ctx, tx, table, cols, n, row)
}

// insertRows inserts n rows into table in multi-row INSERTs of up to
// batchRows rows; row appends the values of row i to args.
func insertRows(ctx context.Context, tx *wtx, table string, cols []string, n int, row func(i int, args []any) []any) error {
	if n == 0 {
		return nil
	}
	one := "(" + placeholders(len(cols)) + ")"
	head := "INSERT INTO " + table + "(" + strings.Join(cols, ", ") + ") VALUES "
	full := head + strings.Repeat(one+",", batchRows-1) + one
	args := make([]any, 0, min(n, batchRows)*len(cols))
	for start := 0; start < n; start += batchRows {
		end := min(start+batchRows, n)
		q := full
		if end-start < batchRows {
			q = head + strings.Repeat(one+",", end-start-1) + one
		}
		args = args[:0]
		for i := start; i < end; i++ {
			args = row(i, args)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("write %s: %w", table, err)
		}
	}
	return nil
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// projectionSeq returns the head the projection tables reflect (0: none).
func projectionSeq(ctx context.Context, tx *wtx) (int64, error) {
	var v string
	err := tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT value FROM meta WHERE key = 'projection_seq'), '0')`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read projection head: %w", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read projection head: bad value %q", v)
	}
	return n, nil
}

// syncMemories moves the memories table from the path of event from to the
// path of event to, at a cost in proportion to how far the two diverge:
// rows after their common ancestor are dropped, the rows of to's path after
// it are added. The caller rewrites the state-derived tables and the pins.
func syncMemories(ctx context.Context, tx *wtx, from, to int64) error {
	lca, err := commonAncestor(ctx, tx, from, to)
	if err != nil {
		return err
	}
	// Events after the common ancestor on from's path all have a larger seq
	// (a child is always written after its parent); those up to it are shared.
	if err := dropMemories(ctx, tx, lca); err != nil {
		return err
	}
	q := `WITH RECURSIVE up(at, up) AS (
		SELECT seq, parent FROM events WHERE seq = ?1 AND seq > ?2
		UNION ALL
		SELECT e.seq, e.parent FROM up JOIN events e ON e.seq = up.up WHERE e.seq > ?2
	)
	SELECT ` + eventCols + ` FROM up JOIN events ON seq = up.at
	WHERE type IN (` + placeholders(len(memoryTypes)) + `) ORDER BY seq`
	args := []any{to, lca}
	for _, t := range memoryTypes {
		args = append(args, t)
	}
	rs, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read memories after %d: %w", lca, err)
	}
	var evs []core.Event
	for rs.Next() {
		var e core.Event
		var d int64
		if err := scanEvent(rs, &e, &d); err != nil {
			rs.Close()
			return err
		}
		evs = append(evs, e)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return fmt.Errorf("read memories after %d: %w", lca, err)
	}
	r, err := projectRows(evs)
	if err != nil {
		return err
	}
	r.dirty, r.pins = 0, nil
	return writeRows(ctx, tx, &r, core.NewState(), nil)
}

// commonAncestor returns the newest event on the paths of both a and b (0:
// none), stepping up from whichever is newer: a parent is older than its
// children, so the newer of two distinct events is never the other's
// ancestor.
func commonAncestor(ctx context.Context, tx *wtx, a, b int64) (int64, error) {
	return lca(ctx, tx, a, b) // one recursive query (branch.go)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
