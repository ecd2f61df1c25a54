-- 0001: the log, its heads and snapshots, and the projection tables.
-- Events are the only writes; every table but meta, schema_migrations,
-- events and heads can be rebuilt from the log (Store.Rebuild).

PRAGMA application_id = 1684631410; -- 'dior'

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL
);

-- The log: a tree of events. A branch's history is the path from the root
-- (parent NULL, depth 0) to its head. Rows are never updated or deleted.
CREATE TABLE events (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	parent     INTEGER REFERENCES events(seq),
	depth      INTEGER NOT NULL,          -- number of ancestors
	branch     TEXT    NOT NULL,          -- the branch it was written on
	turn       INTEGER NOT NULL,
	type       TEXT    NOT NULL,
	version    INTEGER NOT NULL,          -- payload schema version
	payload    TEXT    NOT NULL,          -- JSON
	mask       INTEGER NOT NULL,          -- witness mask [you, botA, botB]
	caused_by  INTEGER REFERENCES events(seq),
	world_time INTEGER NOT NULL,          -- minutes since the world's start
	created_at INTEGER NOT NULL           -- wall clock, unix microseconds UTC
);
CREATE INDEX events_parent ON events(parent);
CREATE INDEX events_caused_by ON events(caused_by) WHERE caused_by IS NOT NULL;

-- Named branches: each points at its newest event.
CREATE TABLE heads (
	name TEXT PRIMARY KEY,
	seq  INTEGER NOT NULL REFERENCES events(seq)
) WITHOUT ROWID;

-- The JSON of core.State after event seq. format names the build's
-- projection (event types and versions); other formats are ignored.
CREATE TABLE snapshots (
	seq    INTEGER PRIMARY KEY REFERENCES events(seq),
	format TEXT NOT NULL,
	state  TEXT NOT NULL
);

-- Projection tables: the state of the branch last written or rebuilt
-- (meta key projection_seq names its head), for querying.
CREATE TABLE entities (
	id   TEXT PRIMARY KEY,
	json TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE edges (
	from_id  TEXT    NOT NULL,
	to_id    TEXT    NOT NULL,
	affinity INTEGER NOT NULL,
	trust    INTEGER NOT NULL,
	notes    TEXT    NOT NULL, -- JSON list of strings
	PRIMARY KEY (from_id, to_id)
) WITHOUT ROWID;

CREATE TABLE story_events (
	id     TEXT PRIMARY KEY,
	status TEXT NOT NULL,
	json   TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE threads (
	id     TEXT PRIMARY KEY,
	status TEXT NOT NULL,
	text   TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE memories (
	id           INTEGER PRIMARY KEY REFERENCES events(seq), -- the source event's seq
	kind         TEXT    NOT NULL, -- episodic, semantic, summary
	who          TEXT    NOT NULL, -- who said it (episodic) or knows it (semantic)
	mask         INTEGER NOT NULL,
	text         TEXT    NOT NULL,
	world_time   INTEGER NOT NULL,
	pinned       INTEGER NOT NULL DEFAULT 0,
	significance REAL              -- NULL until scored
);
