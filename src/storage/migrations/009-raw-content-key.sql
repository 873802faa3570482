-- A redelivery is the same Message-ID with the same content: the message without the lines mail
-- routes add on the way (Received, Return-Path, Delivered-To …). The key is unique, so of deliveries
-- arriving at once exactly one is filed, decided by the insert itself; a later one is kept, flagged
-- as a duplicate of the first. Messages stored before this version have no key.
ALTER TABLE raw_messages ADD COLUMN content_key TEXT;
CREATE UNIQUE INDEX raw_messages_content_key ON raw_messages (content_key) WHERE content_key IS NOT NULL;
