import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { Db } from './database.js';

/**
 * Group commit: `sync()` resolves after a run of `flush` that *started* after the call, so
 * whatever the caller wrote before calling is covered. Callers arriving while a run is under way
 * share the next run: under load, one flush serves many commits.
 */
export function groupSync(flush: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  function sync(): Promise<void> {
    if (!running) {
      running = flush().finally(() => {
        running = null;
      });
      return running;
    }
    // The run under way may have started before this caller's write: wait for the one after it.
    next ??= running
      .catch(() => undefined)
      .then(() => {
        next = null;
        return sync();
      });
    return next;
  }
  return sync;
}

/**
 * Makes commits durable without blocking the event loop. The connection commits with
 * synchronous=NORMAL (the commit is in the WAL file, not yet on disk); `sync()` fdatasyncs the WAL
 * file on libuv's thread pool, after which those commits survive a power cut, as with
 * synchronous=FULL. (Frames leave the WAL only through a checkpoint, which syncs the database file
 * first.) A database in memory has nothing to sync.
 */
export function walSync(db: Db): { sync(): Promise<void>; close(): Promise<void> } {
  if (db.memory) return { sync: async () => undefined, close: async () => undefined };
  const walFile = `${db.name}-wal`;
  let handle: FileHandle | null = null;
  const reopen = async () => {
    await handle?.close().catch(() => undefined);
    handle = await open(walFile, 'r+');
    return handle;
  };
  return {
    sync: groupSync(async () => {
      try {
        await (handle ?? (await reopen())).datasync();
      } catch {
        // The WAL file was replaced under an old handle (every connection had closed meanwhile): once more, afresh.
        await (await reopen()).datasync();
      }
    }),
    async close() {
      await handle?.close().catch(() => undefined);
      handle = null;
    },
  };
}
