-- 0002: indexes for the turn loop's recall, so its cost does not grow with
-- the story: recent lines and facts read backwards along (kind, id), pinned
-- memories through a partial index.
CREATE INDEX memories_kind_id ON memories(kind, id);
CREATE INDEX memories_pinned ON memories(id) WHERE pinned <> 0;
