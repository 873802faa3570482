-- Several instances (#19): an agent's dismissal of a call's pop is kept here, not in one process's
-- memory, so that every instance's pages leave the pop dismissed (until the agent answers that call).
CREATE TABLE pop_dismissals (
  agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  call_id  INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  PRIMARY KEY (agent_id, call_id)
) WITHOUT ROWID;
