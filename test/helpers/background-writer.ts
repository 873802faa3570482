// A background thread of the service as write-turns.ts sees it: short write transactions on its own
// connection, one after another as fast as it may, until told to stop; then it reports how many.
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { parentPort, workerData } from 'node:worker_threads';
import { sqliteEngine } from '../../src/storage/engine.js';
import { takeWriteTurns } from '../../src/storage/write-turns.js';

// `engine`: the transactions are the storage engine's (BEGIN, statements over a few microtasks, COMMIT), as the service's repositories run them.
const { file, turns, engine } = workerData as { file: string; turns: SharedArrayBuffer | null; engine?: boolean };
const db = new Database(file);
db.pragma('busy_timeout = 5000');
if (turns) takeWriteTurns(db, turns, 'background');
const insert = db.prepare('INSERT INTO filler (text) VALUES (?)');
const plain = db.transaction(() => {
  for (let i = 0; i < 100; i++) insert.run('x'.repeat(200));
});
const steps = sqliteEngine(db);
const batch = engine
  ? () =>
      steps.transaction(async (tx) => {
        for (let i = 0; i < 100; i++) await tx.run(sql`INSERT INTO filler (text) VALUES (${'x'.repeat(200)})`);
      })
  : () => plain.immediate();
let stop = false;
let done = 0;
parentPort!.on('message', () => (stop = true));
parentPort!.postMessage({ started: true });
while (!stop) {
  await batch();
  done++;
  // Lets the stop message in between batches.
  if (done % 20 === 0) await new Promise((r) => setImmediate(r));
}
db.close();
parentPort!.postMessage({ done });
