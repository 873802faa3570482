-- Sessions and API tokens read for a pop (is the agent's credential still valid?) are kept in memory
-- between changes (storage/cached-stores.ts). They end by deletion: each delete notifies
-- `hotline_directory`, as changes to agents, queues, permissions and settings do (022). Inserts and
-- updates (a new login, a session sliding on use) do not: a hash not found is never kept, and a
-- session near its end is read again.
CREATE TRIGGER sessions_ended AFTER DELETE OR TRUNCATE ON sessions FOR EACH STATEMENT EXECUTE FUNCTION hotline_directory_changed();
CREATE TRIGGER api_tokens_ended AFTER DELETE OR TRUNCATE ON api_tokens FOR EACH STATEMENT EXECUTE FUNCTION hotline_directory_changed();
