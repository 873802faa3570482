-- Failed logins (#19): counted in the database, so that every process and instance on it counts
-- together (an attacker spreading tries over instances gets one allowance) and a restart forgets
-- nothing. Times in ms since the epoch.
CREATE TABLE login_failures (
  key        TEXT PRIMARY KEY,
  failures   INTEGER NOT NULL,
  not_before INTEGER NOT NULL,
  last_at    INTEGER NOT NULL
) WITHOUT ROWID;
