-- A dismissal keeps the time it was made. Answering a call gives its pop back to the agent who
-- dismissed it while it rang: the pop state compares the two times instead of deleting the
-- dismissal on every answer, and dismissals of ended calls are swept later, not on every hang-up
-- (two writes less a call, #19). A dismissal from before this step counts as made before the answer.
ALTER TABLE pop_dismissals ADD COLUMN dismissed_at TEXT;
