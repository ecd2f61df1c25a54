package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"diorama/core"
)

// The memories projection, in memory. A turn's reads for one bot asked
// SQLite about a dozen small questions (the newest memory and the history
// cut, each query word's hits, the pinned, newest, significant and not yet
// indexed memories, the candidates' rows): about a millisecond a bot at 54k
// memories, most of it crossing into SQLite and back. The memories table
// only grows between deletions and changes a few flags, so the store keeps
// a copy of it, with a word index of its texts, and answers those questions
// from the copy.
//
// The copy follows the table exactly. This process writes through one
// connection, the writer's: every transaction that writes the table records
// what it did (wtx.memOp), and the writer applies it to the copy as it
// commits (exec). What another process commits, SQLite's data_version on
// the writer's connection tells (it changes with every commit of any other
// connection, and never with the connection's own): a read that finds it
// changed since the copy was loaded drops the copy, which is read again in
// the background. Reads run on the writer's goroutine (Store.readOnWriter),
// so none sees a commit half applied.
//
// The copy is loaded only when a session asks for it (Store.LoadCopies: the
// memory workers, as they start); until then, while it is being read
// again, and for reads from inside a write transaction (which may see rows
// the copy has not), the SQL queries it stands in for answer. They are
// kept as the reference: the tests hold both to the same answers.
//
// The word index splits texts as FTS5's unicode61 tokenizer does, for the
// texts where that is plain (asciiTokens); while the table holds any other
// text, word lookups go to the lexical index (FTS5), the rest still to the
// copy.

// memRow is one memory in the copy, compact (a long story holds tens of
// thousands): its kind and who are numbers in the copy's names, its text
// lives in the copy's text chunks (memCopy.textOf).
type memRow struct {
	id        int64
	worldTime int64
	sig       float64 // when hasSig
	text      textRef
	kind, who uint16 // in memCopy.names; kind 0 is KindEpisodic
	mask      core.Mask
	hasSig    bool
	pinned    bool
	indexed   bool
	foreign   bool // its text is not split in Go: word lookups need FTS5
}

// episodic reports whether the memory is a line (KindEpisodic).
func (r *memRow) episodic() bool { return r.kind == 0 }

// textRef is where a text lives in the copy's chunks.
type textRef struct{ chunk, off, n uint32 }

// textChunk is the size of the copy's text chunks.
const textChunk = 256 << 10

// memInput is a memory as written or read, before it enters the copy.
type memInput struct {
	id              int64
	worldTime       int64
	sig             float64 // when hasSig
	kind, who, text string
	mask            core.Mask
	hasSig, pinned  bool
	indexed         bool
}

// memCopy is the in-memory copy of the memories table.
type memCopy struct {
	mu     sync.Mutex
	loaded bool
	dv     int64 // the writer connection's data_version when the copy was last known current
	epoch  int64 // advances whenever rows go (a cut, a reload): caches of the copy name it

	rows      []memRow // by id, ascending
	foreign   int      // rows with foreign texts
	unindexed int      // rows not in the vector index

	words *wordIndex // the rows holding each word (words.go)

	pins    []int32 // indices of the pinned rows, ascending; nil when stale
	pinsOK  bool
	bySig   []int32           // indices of the scored rows, most significant first (ties: newest first)
	names   []string          // kinds and whos, by number (names[0] is KindEpisodic)
	nameIDs map[string]uint16 // name -> number
	chunks  [][]byte          // the texts, in row order

	dfs map[string]memDF // prefix -> how many rows hold a word with it (termDF)

	wanted  bool  // LoadCopies was called: the copy is read again after another process wrote
	loading bool  // a background read is under way (reloadMemories)
	applied int64 // this process's commits that changed memories (fillMemories)

	loads int // how many times it was read from the file (tests)
}

// memDF is a word prefix's row count up to max, as of the first asOf rows
// of epoch.
type memDF struct {
	n, max, asOf int
	epoch        int64
}

// memOp is one change a transaction made to the memories table, applied to
// the copy once the transaction commits.
type memOp func(c *memCopy)

// memOp records a change to the memories table.
func (tx *wtx) memOp(op memOp) { tx.mem = append(tx.mem, op) }

// memAdded records inserted rows (ascending ids, all newer than any left).
func (tx *wtx) memAdded(rows []memInput) {
	tx.memRowsAdded += len(rows)
	tx.memOp(func(c *memCopy) { c.add(rows) })
}

// memPinned records pinned set to on for the memories ids.
func (tx *wtx) memPinned(ids []int64, on bool) {
	if len(ids) == 0 {
		return
	}
	ids = slices.Clone(ids)
	tx.memOp(func(c *memCopy) {
		for _, id := range ids {
			if i, ok := c.index(id); ok {
				c.rows[i].pinned = on
			}
		}
		c.pinsOK = false
	})
}

// memPinsCleared records every pin cleared.
func (tx *wtx) memPinsCleared() {
	tx.memOp(func(c *memCopy) {
		for i := range c.rows {
			c.rows[i].pinned = false
		}
		c.pins, c.pinsOK = nil, true
	})
}

// memScored records a memory's significance set (it had none).
func (tx *wtx) memScored(id int64, v float64) {
	tx.memOp(func(c *memCopy) {
		i, ok := c.index(id)
		if !ok || c.rows[i].hasSig {
			return
		}
		c.rows[i].sig, c.rows[i].hasSig = v, true
		at, _ := slices.BinarySearchFunc(c.bySig, int32(i), c.bySigOrder)
		c.bySig = slices.Insert(c.bySig, at, int32(i))
	})
}

// memScoresCleared records every significance dropped.
func (tx *wtx) memScoresCleared() {
	tx.memOp(func(c *memCopy) {
		for i := range c.rows {
			c.rows[i].sig, c.rows[i].hasSig = 0, false
		}
		c.bySig = c.bySig[:0]
	})
}

// memIndexed records a memory entered into the vector index.
func (tx *wtx) memIndexed(id int64) {
	tx.memOp(func(c *memCopy) {
		if i, ok := c.index(id); ok && !c.rows[i].indexed {
			c.rows[i].indexed = true
			c.unindexed--
		}
	})
}

// memIndexCleared records every memory marked as not indexed.
func (tx *wtx) memIndexCleared() {
	tx.memOp(func(c *memCopy) {
		for i := range c.rows {
			c.rows[i].indexed = false
		}
		c.unindexed = len(c.rows)
	})
}

// committed applies a committed transaction's changes. The caller holds
// c.mu.
func (c *memCopy) committed(ops []memOp) {
	for _, op := range ops {
		if !c.loaded {
			return // not loaded, or an op found rows it cannot follow
		}
		op(c)
	}
}

// drop empties the copy; the next read reloads it.
func (c *memCopy) drop() {
	c.loaded, c.dv = false, 0
	c.epoch++
	c.rows, c.foreign, c.unindexed = nil, 0, 0
	c.words = nil
	c.pins, c.pinsOK, c.bySig = nil, false, nil
	c.names, c.nameIDs, c.chunks, c.dfs = nil, nil, nil, nil
}

// index returns the position of memory id in rows (where it would go, and
// false, when the copy does not hold it).
func (c *memCopy) index(id int64) (int, bool) {
	return slices.BinarySearchFunc(c.rows, id, func(r memRow, id int64) int { return cmp.Compare(r.id, id) })
}

// bySigOrder orders row indices most significant first, then newest first:
// the order of the significance index query.
func (c *memCopy) bySigOrder(a, b int32) int {
	ra, rb := &c.rows[a], &c.rows[b]
	if x := cmp.Compare(rb.sig, ra.sig); x != 0 {
		return x
	}
	return cmp.Compare(rb.id, ra.id)
}

// name returns the number of a kind or a who, numbering it if new.
func (c *memCopy) name(s string) uint16 {
	if c.nameIDs == nil {
		c.names, c.nameIDs = []string{KindEpisodic}, map[string]uint16{KindEpisodic: 0}
	}
	if n, ok := c.nameIDs[s]; ok {
		return n
	}
	if len(c.names) > math.MaxUint16 {
		return math.MaxUint16 // no story has that many speakers; a name past it reads as the last
	}
	s = strings.Clone(s)
	n := uint16(len(c.names))
	c.names = append(c.names, s)
	c.nameIDs[s] = n
	return n
}

// kindOf, whoOf and textOf read a row's strings; textOf copies the text
// out of the chunks (they are reused after a cut).
func (c *memCopy) kindOf(r *memRow) string { return c.names[r.kind] }
func (c *memCopy) whoOf(r *memRow) string  { return c.names[r.who] }
func (c *memCopy) textOf(r *memRow) string { return string(c.textBytes(r)) }

func (c *memCopy) textBytes(r *memRow) []byte {
	t := r.text
	return c.chunks[t.chunk][t.off : t.off+t.n]
}

// storeText appends a text to the chunks.
func (c *memCopy) storeText(text string) textRef {
	n := len(c.chunks)
	if n == 0 || len(c.chunks[n-1])+len(text) > cap(c.chunks[n-1]) {
		c.chunks = append(c.chunks, make([]byte, 0, max(textChunk, len(text))))
		n++
	}
	ch := c.chunks[n-1]
	ref := textRef{chunk: uint32(n - 1), off: uint32(len(ch)), n: uint32(len(text))}
	c.chunks[n-1] = append(ch, text...)
	return ref
}

// appendRow adds a memory at the end of the rows, with its words and
// counts (not to bySig: the caller sorts the scored rows in).
func (c *memCopy) appendRow(in memInput) int32 {
	i := int32(len(c.rows))
	r := memRow{id: in.id, worldTime: in.worldTime, sig: in.sig, kind: c.name(in.kind), who: c.name(in.who),
		mask: in.mask, hasSig: in.hasSig, pinned: in.pinned, indexed: in.indexed}
	r.foreign = !c.words.post(i, in.text)
	r.text = c.storeText(in.text)
	c.rows = append(c.rows, r)
	if r.foreign {
		c.foreign++
	}
	if !r.indexed {
		c.unindexed++
	}
	if r.pinned {
		c.pinsOK = false
	}
	return i
}

// add appends rows, which must be newer than every row held; otherwise
// the copy is dropped (and reloaded on the next read).
func (c *memCopy) add(rows []memInput) {
	var scored []int32
	defer func() {
		// A turn scores few; a rebuild or a branch switch many, which
		// are sorted in once rather than inserted one by one.
		if !c.loaded {
			return
		}
		if len(scored) <= 16 {
			for _, i := range scored {
				at, _ := slices.BinarySearchFunc(c.bySig, i, c.bySigOrder)
				c.bySig = slices.Insert(c.bySig, at, i)
			}
			return
		}
		c.bySig = append(c.bySig, scored...)
		slices.SortFunc(c.bySig, c.bySigOrder)
	}()
	for _, r := range rows {
		if n := len(c.rows); n > 0 && r.id <= c.rows[n-1].id {
			c.drop()
			return
		}
		if i := c.appendRow(r); r.hasSig {
			scored = append(scored, i)
		}
	}
}

// cut drops the rows of the memories after at (all of them when at is 0).
func (c *memCopy) cut(at int64) {
	n, _ := c.index(at + 1) // the first row after at
	if at <= 0 {
		n = 0
	}
	if n == len(c.rows) {
		return
	}
	for _, r := range c.rows[n:] {
		if r.foreign {
			c.foreign--
		}
		if !r.indexed {
			c.unindexed--
		}
	}
	end := int32(n)
	c.words.cut(end, c, c.rows[n:])
	if t := c.rows[n].text; int(t.chunk) < len(c.chunks) {
		clear(c.chunks[t.chunk+1:])
		c.chunks = c.chunks[:t.chunk+1]
		c.chunks[t.chunk] = c.chunks[t.chunk][:t.off]
	}
	c.rows = c.rows[:n]
	c.bySig = slices.DeleteFunc(c.bySig, func(i int32) bool { return i >= end })
	c.pinsOK = false
	c.epoch++
	clear(c.dfs)
}

// load reads the whole table into c, a copy of its own (fillMemories), in
// one read transaction; dv is the writer connection's data_version the
// caller noted before.
func (c *memCopy) load(ctx context.Context, db *sql.DB, dv int64) error {
	c.drop()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("load memories: %w", err)
	}
	defer conn.Close()
	fail := func(err error) error {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		c.drop()
		return fmt.Errorf("load memories: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		return fail(err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM memories`).Scan(&n); err != nil {
		return fail(err)
	}
	c.words = newWordIndex(n)
	c.rows = make([]memRow, 0, n)
	err = rawQuery(ctx, conn, `SELECT id, kind, who, mask, text, world_time, pinned, significance, indexed FROM memories ORDER BY id`, nil, func(v []driver.Value) error {
		r := memInput{}
		var ok [6]bool
		r.id, ok[0] = v[0].(int64)
		r.kind, ok[1] = textValue(v[1])
		r.who, ok[2] = textValue(v[2])
		var mask int64
		mask, ok[3] = v[3].(int64)
		r.mask = core.Mask(mask)
		r.text, ok[4] = textValue(v[4])
		r.worldTime, ok[5] = v[5].(int64)
		if slices.Contains(ok[:], false) {
			return fmt.Errorf("memory %v: unexpected column types", v[0])
		}
		p, _ := v[6].(int64)
		r.pinned = p != 0
		switch s := v[7].(type) {
		case float64:
			r.sig, r.hasSig = s, true
		case int64:
			r.sig, r.hasSig = float64(s), true
		}
		x, _ := v[8].(int64)
		r.indexed = x != 0
		// The driver's values live only during the call: appendRow
		// copies what it keeps.
		if i := c.appendRow(r); r.hasSig {
			c.bySig = append(c.bySig, i)
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fail(err)
	}
	slices.SortFunc(c.bySig, c.bySigOrder)
	c.words.sort()
	c.dv, c.loaded = dv, true
	return nil
}

// textValue reads a TEXT column's driver value.
func textValue(v driver.Value) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case []byte:
		return string(s), true
	}
	return "", false
}

// copyServes reports whether the memories copy may answer a read through q:
// a read of its own on the writer's connection, not one inside a write
// transaction (whose rows the copy may not hold yet).
func (s *Store) copyServes(q querier) bool {
	return q == querier(s.wconn) && !s.readsBySQL.Load()
}

// dataVersionSQL reads the writer connection's data_version.
const dataVersionSQL = `SELECT data_version FROM pragma_data_version`

// usable reports whether the copy may answer a read made when the writer
// connection's data_version was dv: loaded, and no other connection has
// committed since. A copy another process made stale is dropped and, as
// it is wanted, read again in the background; meanwhile SQL answers. The
// caller holds c.mu, on the writer's goroutine.
func (s *Store) usable(dv int64) bool {
	c := &s.mem.rows
	if c.loaded && c.dv == dv {
		return true
	}
	if c.loaded {
		c.drop()
	}
	s.reloadMemories()
	return false
}

// reloadMemories starts reading the copy in the background if it is
// wanted (LoadCopies was called) and no read is under way. The caller
// holds c.mu.
func (s *Store) reloadMemories() {
	c := &s.mem.rows
	if !c.wanted || c.loaded || c.loading {
		return
	}
	c.loading = true
	go func() {
		_ = s.fillMemories(context.Background())
		c.mu.Lock()
		c.loading = false
		c.mu.Unlock()
	}()
}

// LoadCopies reads the in-memory copies of the vector index and of the
// memories now, and keeps the memories copy from then on (read again in
// the background after another process wrote). A session that plays turns
// wants them (the memory workers call it as they start); a command that
// recalls once or twice is served by SQL as it is, and never pays for the
// load (about a quarter of a second at 100k memories).
func (s *Store) LoadCopies(ctx context.Context) error {
	if err := s.warmCodes(ctx); err != nil {
		return err
	}
	c := &s.mem.rows
	current := false
	err := s.readOnWriter(ctx, func(ctx context.Context, q querier) error {
		var dv int64
		if err := q.QueryRowContext(ctx, dataVersionSQL).Scan(&dv); err != nil {
			return err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.wanted = true
		current = c.loaded && c.dv == dv
		if c.loaded && !current {
			c.drop() // another process wrote
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load memories: %w", err)
	}
	if current {
		return nil
	}
	return s.fillMemories(ctx)
}

// fillMemories reads the memories copy from the file without holding the
// writer or the copy: the data_version and the count of this process's
// commits that changed memories are noted on the writer's goroutine, the
// rows are read in a read transaction of the reader pool, and the copy is
// installed only if no such commit came in between (otherwise it tries
// again). A commit by another process in between leaves the copy stale by
// its data_version, and the next read starts over.
func (s *Store) fillMemories(ctx context.Context) error {
	c := &s.mem.rows
	for range 3 {
		var dv, applied int64
		err := s.readOnWriter(ctx, func(ctx context.Context, q querier) error {
			if err := q.QueryRowContext(ctx, dataVersionSQL).Scan(&dv); err != nil {
				return err
			}
			c.mu.Lock()
			applied = c.applied
			c.mu.Unlock()
			return nil
		})
		if err != nil {
			return fmt.Errorf("load memories: %w", err)
		}
		f := &memCopy{}
		if err := f.load(ctx, s.rdb, dv); err != nil {
			return err
		}
		c.mu.Lock()
		switch {
		case c.loaded:
			c.mu.Unlock()
			return nil
		case c.applied == applied:
			c.install(f)
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
	}
	return errors.New("load memories: the save kept changing while it was read")
}

// install makes the freshly loaded f the copy. The caller holds c.mu.
func (c *memCopy) install(f *memCopy) {
	c.drop()
	c.rows, c.words, c.bySig = f.rows, f.words, f.bySig
	c.names, c.nameIDs, c.chunks = f.names, f.nameIDs, f.chunks
	c.foreign, c.unindexed, c.dv = f.foreign, f.unindexed, f.dv
	c.loaded = true
	c.loads++
}

// hits returns, newest first, the ids of up to limit rows that hold a
// word starting with p and that who witnessed (any row when who is 0).
func (c *memCopy) hits(p string, who core.Mask, limit int) []int64 {
	lists := c.words.prefixed(p)
	var out []int64
	c.merge(lists, func(i int32) bool {
		if who == 0 || c.rows[i].mask&who != 0 {
			out = append(out, c.rows[i].id)
		}
		return len(out) < limit
	})
	return out
}

// merge visits the row indices of lists (each ascending) once each, largest
// first, until visit returns false: a k-way merge over a max-heap of the
// lists' next entries (a short prefix may match hundreds of words).
func (c *memCopy) merge(lists [][]int32, visit func(int32) bool) {
	if len(lists) == 1 {
		l := lists[0]
		for k := len(l) - 1; k >= 0; k-- {
			if !visit(l[k]) {
				return
			}
		}
		return
	}
	// h holds the lists not used up, by their last entry, largest on top;
	// each list is cut down to its entries not visited yet.
	h := make([][]int32, 0, len(lists))
	for _, l := range lists {
		if len(l) > 0 {
			h = append(h, l)
		}
	}
	last := func(l []int32) int32 { return l[len(l)-1] }
	down := func(i int) {
		for {
			big, l, r := i, 2*i+1, 2*i+2
			if l < len(h) && last(h[l]) > last(h[big]) {
				big = l
			}
			if r < len(h) && last(h[r]) > last(h[big]) {
				big = r
			}
			if big == i {
				return
			}
			h[i], h[big] = h[big], h[i]
			i = big
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	prev := int32(-1)
	for len(h) > 0 {
		v := last(h[0])
		if h[0] = h[0][:len(h[0])-1]; len(h[0]) == 0 {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		if len(h) > 0 {
			down(0)
		}
		if v == prev {
			continue // a row holding two words with the prefix
		}
		prev = v
		if !visit(v) {
			return
		}
	}
}

// df returns how many rows (anyone's, up to max) hold a word starting with
// p, counted once per epoch and then over the rows added since.
func (c *memCopy) df(p string, max int) int {
	if c.dfs == nil {
		c.dfs = map[string]memDF{}
	}
	d, ok := c.dfs[p]
	if !ok || d.epoch != c.epoch || d.max != max || d.asOf > len(c.rows) {
		d = memDF{epoch: c.epoch, max: max}
	}
	if d.asOf < len(c.rows) && d.n < max {
		lists := c.words.prefixed(p)
		for i, l := range lists {
			k, _ := slices.BinarySearch(l, int32(d.asOf))
			lists[i] = l[k:]
		}
		c.merge(lists, func(int32) bool {
			d.n++
			return d.n < max
		})
	}
	d.asOf = len(c.rows)
	c.dfs[p] = d
	return d.n
}

// pinned returns the indices of the pinned rows, ascending.
func (c *memCopy) pinned() []int32 {
	if !c.pinsOK {
		c.pins = c.pins[:0]
		for i := range c.rows {
			if c.rows[i].pinned {
				c.pins = append(c.pins, int32(i))
			}
		}
		c.pinsOK = true
	}
	return c.pins
}
