-- 0003: withdrawn before release. It created an ART index on event ids; DuckDB keeps such an
-- index in memory, and under the store's 256 MB limit inserts failed at about 3.5M events.
-- Migration 0005 drops it from stores that got it.
SELECT 1;
