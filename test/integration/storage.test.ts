import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations, openDatabase } from '../../src/storage/database.js';
import { tempDir } from '../helpers/hotline.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function dbFile(): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return join(dir, 'nested', 'hotline.db');
}

describe('openDatabase', () => {
  it('creates the file with WAL, foreign keys and the latest schema version', () => {
    const file = dbFile();
    const db = openDatabase(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('user_version', { simple: true })).toBe(loadMigrations().length);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(
      expect.arrayContaining(['agents', 'queues', 'queue_permissions', 'customers', 'tickets', 'articles', 'attachments', 'calls', 'settings', 'ttn_counters']),
    );
    db.close();
  });

  it('applies only the migrations a database lacks', () => {
    const file = dbFile();
    const [first] = loadMigrations();
    openDatabase(file, [first!]).close();
    const extra = { version: 2, name: '002-extra.sql', sql: 'CREATE TABLE extra (id INTEGER PRIMARY KEY);' };
    const db = openDatabase(file, [first!, extra]);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    db.close();
  });

  it('moves stored raw mail into its own table without losing a byte', async () => {
    const file = dbFile();
    const migrations = loadMigrations();
    const v4 = openDatabase(file, migrations.slice(0, 4));
    const bytes = Buffer.from('Subject: kept\r\n\r\n\u00e9\u0000binary', 'latin1');
    v4.prepare("INSERT INTO raw_messages (source, sha256, size, raw, received_at) VALUES ('smtp', 'abc', ?, ?, '2026-11-28T00:00:00Z')").run(bytes.length, bytes);
    v4.close();
    const db = openDatabase(file, migrations);
    const { createMailRepository } = await import('../../src/storage/mail-repository.js');
    const { sqliteEngine } = await import('../../src/storage/engine.js');
    const repo = createMailRepository(sqliteEngine(db));
    const [id] = db.prepare('SELECT id FROM raw_messages').pluck().all() as number[];
    expect((await repo.rawBytes(id!))?.equals(bytes)).toBe(true);
    expect(await repo.raw(id!)).toMatchObject({ sha256: 'abc', size: bytes.length, status: 'new' });
    expect(db.prepare("SELECT count(*) FROM pragma_table_info('raw_messages') WHERE name = 'raw'").pluck().get()).toBe(0);
    db.close();
  });

  it('rolls a failing migration back completely', () => {
    const file = dbFile();
    const [first] = loadMigrations();
    openDatabase(file, [first!]).close();
    const broken = { version: 2, name: '002-broken.sql', sql: 'CREATE TABLE half (id INTEGER); SELECT * FROM no_such_table;' };
    expect(() => openDatabase(file, [first!, broken])).toThrow(/no_such_table/);
    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half'").pluck().get()).toBe(0);
    db.close();
  });

  it('refuses a database newer than the code with a clear message and leaves it unchanged', () => {
    const file = dbFile();
    openDatabase(file).close();
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => openDatabase(file)).toThrow(/schema version 99, newer than this Hotline knows .*nothing was changed/);
    const after = new Database(file);
    expect(after.pragma('user_version', { simple: true })).toBe(99);
    after.close();
  });
});
