-- A number that changes with everything a ticket list shows: any ticket written, or a queue, agent or
-- customer renamed or removed. A list read again at the same number is the same list, so the web
-- thread keeps recent pages and serves them again until the number moves (the same transaction as
-- the change bumps it, so no reader sees the change without the new number).
CREATE TABLE list_generation (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n  INTEGER NOT NULL
);
INSERT INTO list_generation (id, n) VALUES (1, 0);
CREATE TRIGGER list_generation_ticket_insert AFTER INSERT ON tickets BEGIN
  UPDATE list_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER list_generation_ticket_update AFTER UPDATE ON tickets BEGIN
  UPDATE list_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER list_generation_ticket_delete AFTER DELETE ON tickets BEGIN
  UPDATE list_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER list_generation_queue_rename AFTER UPDATE OF name ON queues BEGIN
  UPDATE list_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER list_generation_queue_delete AFTER DELETE ON queues BEGIN
  UPDATE list_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER list_generation_agent_rename AFTER UPDATE OF name ON agents BEGIN
  UPDATE list_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER list_generation_agent_delete AFTER DELETE ON agents BEGIN
  UPDATE list_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER list_generation_customer_rename AFTER UPDATE OF name ON customers BEGIN
  UPDATE list_generation SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER list_generation_customer_delete AFTER DELETE ON customers BEGIN
  UPDATE list_generation SET n = n + 1 WHERE id = 1;
END;
