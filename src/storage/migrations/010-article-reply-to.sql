-- Where answers to an incoming mail go when its sender asked for another address (Reply-To):
-- the agent's reply form and the auto-reply use it instead of From.
ALTER TABLE articles ADD COLUMN reply_to TEXT;
