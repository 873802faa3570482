-- The change feed (#19): every statement that changes agents, queues, permissions or settings
-- notifies `hotline_directory` (delivered at commit, to every connection listening on this database);
-- each process drops what it keeps of them in memory (storage/change-feed.ts, storage/cached-stores.ts).
CREATE OR REPLACE FUNCTION hotline_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hotline_directory', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
CREATE TRIGGER agents_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON agents FOR EACH STATEMENT EXECUTE FUNCTION hotline_directory_changed();
CREATE TRIGGER queues_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON queues FOR EACH STATEMENT EXECUTE FUNCTION hotline_directory_changed();
CREATE TRIGGER queue_permissions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON queue_permissions FOR EACH STATEMENT EXECUTE FUNCTION hotline_directory_changed();
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON settings FOR EACH STATEMENT EXECUTE FUNCTION hotline_directory_changed();
