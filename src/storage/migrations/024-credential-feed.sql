-- Ending a session or an API token (logout, revocation, a password reset, expiry) reaches every
-- instance's change feed on PostgreSQL (see the PostgreSQL step of the same number). The SQLite file
-- keeps nothing in memory: this step only keeps both engines' numbering equal.
SELECT 1;
