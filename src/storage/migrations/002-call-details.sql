-- Why the IVR chose the route (ticket, operator, invalid, unknown, no-input, new-ticket, recovered, error),
-- and the caller's language as Asterisk reported it.
ALTER TABLE calls ADD COLUMN reason TEXT;
ALTER TABLE calls ADD COLUMN language TEXT;
