-- A ticket's page shows where each outgoing mail stands: its outbox row, found by its article.
CREATE INDEX outbox_article ON outbox (article_id);
