import { accessSync, constants, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Db } from './database.js';

/** The database is locked by another process right now; the write was not tried (or gave up at once). */
export class DatabaseBusyError extends Error {
  override name = 'DatabaseBusyError';
}

/**
 * A write the database refused for now (locked, full, read-only, I/O; on PostgreSQL also a server that
 * is down, a standby, or out of disk): the data is fine, the write was not made.
 */
export function isWriteRefused(error: unknown): boolean {
  const c = (error as { code?: string }).code ?? '';
  return error instanceof DatabaseBusyError || /^SQLITE_(BUSY|FULL|READONLY|IOERR)/.test(c) || /^(25006|53\d\d\d|57P0\d|08\d\d\d|ECONNREFUSED|ECONNRESET|ETIMEDOUT)$/.test(c);
}

// After a write found the file locked, how long further writes on the call path fail at once instead
// of each waiting out the busy timeout on the event loop.
const BUSY_BACKOFF_MS = 1000;
// A failed write keeps the health "degraded" this long after it happened, or until a write succeeds.
const FAILURE_MEMORY_MS = 60_000;

const code = (error: unknown): string => (error as { code?: string }).code ?? '';

/**
 * Writes on the call path go through here: a lock held by another process (a backup, `hotline ingest`,
 * the CLI) makes them fail fast for a moment instead of stalling every call for the busy timeout,
 * and every failed write (locked, full, read-only, I/O) is remembered for `/healthz`.
 */
export function createWriteGuard(clock: () => number = Date.now) {
  let busyUntil = 0;
  let lastFailure: { at: number; message: string } | null = null;
  return {
    run<T>(write: () => T): T {
      if (clock() < busyUntil) throw new DatabaseBusyError('the database is locked by another process; the write was not tried');
      try {
        const result = write();
        lastFailure = null;
        return result;
      } catch (error) {
        if (code(error) === 'SQLITE_BUSY') busyUntil = clock() + BUSY_BACKOFF_MS;
        if (code(error).startsWith('SQLITE_')) lastFailure = { at: clock(), message: (error as Error).message };
        throw error;
      }
    },
    /** The last write that failed, while it is recent. */
    recentFailure(): string | null {
      return lastFailure && clock() - lastFailure.at < FAILURE_MEMORY_MS ? lastFailure.message : null;
    },
  };
}

export type WriteGuard = ReturnType<typeof createWriteGuard>;

/**
 * Whether the database can be written now, in words: it takes the write lock for an instant
 * (`BEGIN IMMEDIATE`, nothing written), looks at the free space of its file system, and at the
 * last write that failed. An empty list means healthy.
 */
export function databaseProblems(db: Db, guard: WriteGuard): string[] {
  const problems: string[] = [];
  try {
    db.prepare('SELECT 1').get();
  } catch (error) {
    return [`cannot be read: ${(error as Error).message}`];
  }
  let writable = !db.readonly;
  if (writable && db.name !== ':memory:') {
    try {
      // SQLite quietly opens a file it may not write read-only; every write then fails.
      accessSync(db.name, constants.W_OK);
    } catch {
      writable = false;
    }
  }
  if (!writable) problems.push('read-only: the service may not write the database file');
  else {
    try {
      db.exec('BEGIN IMMEDIATE');
      db.exec('ROLLBACK');
    } catch (error) {
      problems.push(code(error) === 'SQLITE_BUSY' ? 'locked by another process' : `cannot be written: ${(error as Error).message}`);
    }
  }
  if (db.name !== ':memory:') {
    try {
      const fs = statfsSync(dirname(db.name));
      const free = fs.bavail * fs.bsize;
      // Nearly full: under 5 % of the file system or 100 MB, whichever is less.
      if (free < Math.min(100 * 1024 * 1024, 0.05 * fs.blocks * fs.bsize)) problems.push(`disk nearly full (${Math.round(free / 1024)} KiB free)`);
    } catch {
      // statfs is not available everywhere; the write probe and failures still tell.
    }
  }
  const failure = guard.recentFailure();
  if (failure) problems.push(`a write failed: ${failure}`);
  return problems;
}
