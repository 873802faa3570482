import { sql } from 'kysely';
import { existsSync } from 'node:fs';
import { openDatabase } from './database.js';
import type { Sql } from './engine.js';
import { openPostgres } from './postgres.js';

// Kept by triggers in PostgreSQL as rows arrive (ticket counts, the lists' generation), or held by the
// instances while they run (leases), or the schema's own: not copied.
const NOT_COPIED = new Set(['schema_version', 'ticket_counts', 'list_generation', 'leases', 'login_failures']);
// Any of these with a row: the target is someone's helpdesk already, and nothing is copied into it.
const MUST_BE_EMPTY = ['agents', 'queues', 'customers', 'tickets', 'calls', 'raw_messages'];
// A statement's rows: well under PostgreSQL's 65,535 parameters, and few megabytes of mail and files.
const ROWS_A_STATEMENT = 200;
const BYTES_A_STATEMENT = 8 * 1024 * 1024;

export interface CopyReport {
  tables: Array<{ table: string; rows: number }>;
}

/** The target holds data already: nothing was copied. */
export class TargetNotEmptyError extends Error {}

/**
 * Copies a helpdesk from its SQLite file into an empty PostgreSQL database (brought to the same schema
 * version first): every table's rows with their ids, in one transaction — all or nothing — then each
 * table's id sequence moved past the highest id copied, and every table's row count compared. The file is
 * read in one read transaction, so the copy is the helpdesk as it was when the copy began: stop Hotline
 * first, or what it writes meanwhile stays behind.
 */
export async function copySqliteToPostgres(file: string, url: string, progress: (line: string) => void = () => undefined): Promise<CopyReport> {
  if (!existsSync(file)) throw new Error(`no SQLite file at ${file}`);
  const source = openDatabase(file);
  try {
    const target = await openPostgres(url, { max: 1 });
    try {
      return await target.transaction(async (tx) => {
        for (const table of MUST_BE_EMPTY) {
          const row = await tx.first(sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table)}`);
          if (row!.n > 0) throw new TargetNotEmptyError(`the target database has ${row!.n} row(s) in ${table} already; copy into an empty database (nothing was copied)`);
        }
        source.exec('BEGIN');
        try {
          return await copyTables(source, tx, progress);
        } finally {
          source.exec('ROLLBACK');
        }
      });
    } finally {
      await target.close();
    }
  } finally {
    source.close();
  }
}

async function copyTables(source: ReturnType<typeof openDatabase>, tx: Sql, progress: (line: string) => void): Promise<CopyReport> {
  const tables = (
    await tx.all(sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
  )
    .map((t) => t.name)
    .filter((t) => !NOT_COPIED.has(t));
  const references = await tx.all(
    sql<{ table: string; column: string; target: string }>`SELECT c.conrelid::regclass::text AS "table", a.attname AS "column", c.confrelid::regclass::text AS target
      FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
      WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`,
  );
  const report: CopyReport = { tables: [] };
  // A row that names a row of its own table (a ticket linked to a later one) gets that column once all are in.
  const later: Array<{ table: string; column: string; id: unknown; value: unknown }> = [];
  for (const table of inOrder(tables, references)) {
    const columns = await tx.all(
      sql<{ name: string; filled: number }>`SELECT column_name AS name, (column_default IS NOT NULL OR is_identity = 'YES' OR is_nullable = 'YES')::int AS filled
        FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table} ORDER BY ordinal_position`,
    );
    const info = source.pragma(`table_info(${JSON.stringify(table)})`) as Array<{ name: string; pk: number }>;
    const have = new Set(info.map((c) => c.name));
    const key = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    if (have.size === 0) throw new Error(`the SQLite file has no table ${table}: is it a Hotline database?`);
    // A column only PostgreSQL has (a surrogate id where SQLite has its rowid) takes its default there.
    const missing = columns.filter((c) => !have.has(c.name) && !c.filled).map((c) => c.name);
    if (missing.length) throw new Error(`the SQLite file's ${table} lacks ${missing.join(', ')}: the two schemas differ`);
    const names = columns.filter((c) => have.has(c.name)).map((c) => c.name);
    const own = references.filter((r) => r.table === table && r.target === table).map((r) => ({ column: r.column, at: names.indexOf(r.column) }));
    const idAt = names.indexOf('id');
    let rows = 0;
    let batch: unknown[][] = [];
    let bytes = 0;
    const flush = async () => {
      if (!batch.length) return;
      await tx.run(sql`INSERT INTO ${sql.table(table)} (${sql.join(names.map((n) => sql.ref(n)))}) VALUES ${sql.join(batch.map((r) => sql`(${sql.join(r.map((v) => sql`${v}`))})`))}`);
      batch = [];
      bytes = 0;
    };
    const orderBy = key.length ? ` ORDER BY ${key.map((c) => JSON.stringify(c.name)).join(', ')}` : '';
    const select = source.prepare(`SELECT ${names.map((n) => JSON.stringify(n)).join(', ')} FROM ${JSON.stringify(table)}${orderBy}`).raw(true);
    for (const values of select.iterate() as IterableIterator<unknown[]>) {
      for (const { column, at } of own) {
        if (values[at] === null) continue;
        later.push({ table, column, id: values[idAt], value: values[at] });
        values[at] = null;
      }
      batch.push(values);
      rows++;
      for (const v of values) if (typeof v === 'string' || Buffer.isBuffer(v)) bytes += v.length;
      if (batch.length >= ROWS_A_STATEMENT || bytes >= BYTES_A_STATEMENT) await flush();
    }
    await flush();
    // The next row made in PostgreSQL takes the id after the last one copied.
    if (idAt >= 0) {
      await tx.run(sql`SELECT setval(seq, coalesce((SELECT max(id) FROM ${sql.table(table)}), 0) + 1, false) FROM (SELECT pg_get_serial_sequence(${table}, 'id') AS seq) s WHERE seq IS NOT NULL`);
    }
    const copied = await tx.first(sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table)}`);
    if (copied!.n !== rows) throw new Error(`${table}: ${rows} rows read but ${copied!.n} in PostgreSQL; nothing was copied`);
    report.tables.push({ table, rows });
    progress(`${table}: ${rows}`);
  }
  for (const { table, column, id, value } of later) await tx.run(sql`UPDATE ${sql.table(table)} SET ${sql.ref(column)} = ${value} WHERE id = ${id}`);
  return report;
}

/** The tables in an order where each comes after those its rows refer to (a reference to its own table aside). */
function inOrder(tables: string[], references: Array<{ table: string; target: string }>): string[] {
  const done: string[] = [];
  const left = new Set(tables);
  while (left.size) {
    const next = [...left].find((t) => references.every((r) => r.table !== t || r.target === t || !left.has(r.target)));
    if (!next) throw new Error(`the tables ${[...left].join(', ')} refer to each other in a circle: cannot order them`);
    done.push(next);
    left.delete(next);
  }
  return done;
}
