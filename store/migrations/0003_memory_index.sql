-- 0003: long-term memory. A lexical index (FTS5) and a vector index
-- (sqlite-vec) over the memories projection, and two caches derived from the
-- log by background workers: embeddings and significance scores, both keyed
-- by (model, content hash) so a branch switch, a rebuild or a restart never
-- computes one twice. None of this is an event: all of it can be dropped and
-- derived again.

-- indexed: the memory has a row in memory_vec for the embedder the index is
-- built with (meta key vec_model). Workers find the memories still to embed
-- and to score through the two partial indexes, so their lag costs one
-- index walk, not a scan.
ALTER TABLE memories ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX memories_unindexed ON memories(id) WHERE indexed = 0;
CREATE INDEX memories_unscored ON memories(id) WHERE significance IS NULL;
-- The most significant memories first: auto-pinned candidates.
CREATE INDEX memories_significance ON memories(significance, id) WHERE significance IS NOT NULL;

-- Embeddings by (model, SHA-256 of the text, first 16 bytes). vec holds the
-- vector quantised to int8: a little-endian float32 scale, then one signed
-- byte per dimension (value = byte * scale / 127). Cosine through it is
-- within about 1% of the float vector's, plenty for ranking, at a quarter
-- of the size. code is its 384-bit sign code (see memory_vec), so
-- re-indexing a memory whose embedding is cached costs no computation.
CREATE TABLE embedding_cache (
	id    INTEGER PRIMARY KEY,
	model TEXT NOT NULL,
	hash  BLOB NOT NULL,
	dims  INTEGER NOT NULL,
	vec   BLOB NOT NULL,
	code  BLOB NOT NULL,
	UNIQUE (model, hash)
);

-- Significance scores (1..10) by (model, content hash). source says what
-- produced the score: the scorer's model, or "heuristic" when the model's
-- answer could not be read and the Lua heuristic stood in.
CREATE TABLE significance_cache (
	model  TEXT NOT NULL,
	hash   BLOB NOT NULL,
	score  REAL NOT NULL,
	source TEXT NOT NULL,
	PRIMARY KEY (model, hash)
) WITHOUT ROWID;

-- The lexical index: one row per memory (rowid = memory id), its text and
-- its witnesses as tokens w0 w1 w2, so the witness filter is a term of the
-- MATCH itself ("w : w1 AND text : key"), applied inside the query. It is
-- contentless (the text lives in memories) and kept in step with the
-- memories table by triggers, whichever path writes it (a turn, a branch
-- switch, a rebuild).
CREATE VIRTUAL TABLE memory_fts USING fts5(
	text, w,
	content = '', contentless_delete = 1,
	tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO memory_fts(rowid, text, w)
	SELECT id, text, trim(iif(mask & 1, 'w0 ', '') || iif(mask & 2, 'w1 ', '') || iif(mask & 4, 'w2', '')) FROM memories;
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
	INSERT INTO memory_fts(rowid, text, w)
	VALUES (new.id, new.text, trim(iif(new.mask & 1, 'w0 ', '') || iif(new.mask & 2, 'w1 ', '') || iif(new.mask & 4, 'w2', '')));
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
	DELETE FROM memory_fts WHERE rowid = old.id;
END;

-- The vector index: one row per embedded memory (rowid = memory id), a
-- 384-bit sign code of its embedding under a fixed random rotation (so the
-- Hamming distance estimates the angle, whatever the embedder's dimension),
-- searched by sqlite-vec's exact scan. Each witness bit is a partition key,
-- so a character's search reads only the chunks it witnessed: the witness
-- filter is inside the KNN and k results still come back. ep is the id of
-- an episodic memory (0 for facts and summaries), so the lines a prompt
-- already carries verbatim can be left out inside the KNN too. Candidates
-- are rescored exactly against embedding_cache.
CREATE VIRTUAL TABLE memory_vec USING vec0(
	w0 integer partition key,
	w1 integer partition key,
	w2 integer partition key,
	code bit[384],
	ep integer
);
-- A memory leaving the projection (a branch switch, a rebuild) leaves the
-- index with it, in the same transaction.
CREATE TRIGGER memories_vec_delete AFTER DELETE ON memories WHEN old.indexed <> 0 BEGIN
	DELETE FROM memory_vec WHERE rowid = old.id;
END;
