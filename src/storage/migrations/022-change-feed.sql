-- The change feed (#19): on PostgreSQL, triggers tell every instance at once that agents, queues,
-- permissions or settings changed, so that the call path may keep them in memory in between
-- (storage/change-feed.ts). The SQLite file needs nothing: its reads are a function call into the
-- same process, and it keeps nothing in memory. This step keeps both engines' numbering equal.
SELECT 1;
