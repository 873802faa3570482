-- Ticket lists sorted by age or priority read a page per queue in index order, as lists by the last
-- update do (006): all tickets, and the open ones (partial: closed tickets are most of a mature
-- helpdesk). Ties under a priority go by the last update, then the id.
CREATE INDEX tickets_queue_created ON tickets (queue_id, created_at, id);
CREATE INDEX tickets_queue_open_created ON tickets (queue_id, created_at, id) WHERE state <> 'closed';
CREATE INDEX tickets_queue_priority ON tickets (queue_id, priority, updated_at, id);
CREATE INDEX tickets_queue_open_priority ON tickets (queue_id, priority, updated_at, id) WHERE state <> 'closed';

-- Ticket-list filters an agent saved by name: the list page's query string (filter and order, no position).
CREATE TABLE saved_filters (
  id         INTEGER PRIMARY KEY,
  agent_id   INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  query      TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (agent_id, name)
);

-- The customer list, by name, a page at a time.
CREATE INDEX customers_name ON customers (name, id);
