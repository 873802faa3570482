-- Ticket lists are read newest-first, a page at a time (keyset: updated_at, id). Each index serves one
-- kind of list in that order, so a page reads its 50 rows instead of sorting every ticket of the queue.
-- Per queue: all states, one state, and the open ones (partial: closed tickets, most of a mature
-- helpdesk, are not even in it).
CREATE INDEX tickets_queue_updated ON tickets (queue_id, updated_at, id);
CREATE INDEX tickets_queue_state_updated ON tickets (queue_id, state, updated_at, id);
CREATE INDEX tickets_queue_open_updated ON tickets (queue_id, updated_at, id) WHERE state <> 'closed';
-- "My tickets" and a customer's tickets.
CREATE INDEX tickets_owner_updated ON tickets (owner_id, updated_at, id);
CREATE INDEX tickets_customer_updated ON tickets (customer_id, updated_at, id);
-- The old indexes are prefixes of the new ones.
DROP INDEX tickets_queue_state;
DROP INDEX tickets_owner;
DROP INDEX tickets_customer;

-- Tickets per queue and state, kept by triggers in the same transaction as the change, so the queue
-- overview reads a few rows instead of counting every ticket. A touch (new article, call) changes
-- neither column and fires nothing.
CREATE TABLE ticket_counts (
  queue_id INTEGER NOT NULL,
  state    TEXT NOT NULL,
  n        INTEGER NOT NULL,
  PRIMARY KEY (queue_id, state)
) WITHOUT ROWID;
INSERT INTO ticket_counts (queue_id, state, n) SELECT queue_id, state, count(*) FROM tickets GROUP BY queue_id, state;
CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets BEGIN
  INSERT INTO ticket_counts (queue_id, state, n) VALUES (new.queue_id, new.state, 1)
    ON CONFLICT (queue_id, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER ticket_counts_delete AFTER DELETE ON tickets BEGIN
  UPDATE ticket_counts SET n = n - 1 WHERE queue_id = old.queue_id AND state = old.state;
END;
CREATE TRIGGER ticket_counts_update AFTER UPDATE OF queue_id, state ON tickets
  WHEN old.queue_id IS NOT new.queue_id OR old.state IS NOT new.state BEGIN
  UPDATE ticket_counts SET n = n - 1 WHERE queue_id = old.queue_id AND state = old.state;
  INSERT INTO ticket_counts (queue_id, state, n) VALUES (new.queue_id, new.state, 1)
    ON CONFLICT (queue_id, state) DO UPDATE SET n = n + 1;
END;
