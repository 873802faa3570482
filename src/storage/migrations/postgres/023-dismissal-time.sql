-- A dismissal keeps the time it was made (see the SQLite step of the same number).
ALTER TABLE pop_dismissals ADD COLUMN dismissed_at text;
