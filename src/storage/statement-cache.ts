import type { Database, Statement } from 'better-sqlite3';

/**
 * Prepared statements for SQL built at run time (UPDATEs of the columns a change touches,
 * IN lists): prepared once per distinct text, not on every call.
 */
export function createStatementCache(db: Database): (sql: string) => Statement {
  const statements = new Map<string, Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
}
