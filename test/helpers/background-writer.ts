// A background thread of the service as write-turns.ts sees it: short write transactions on its own
// connection, one after another as fast as it may, until told to stop; then it reports how many.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { takeWriteTurns } from '../../src/storage/write-turns.js';

const { file, turns } = workerData as { file: string; turns: SharedArrayBuffer | null };
const db = new Database(file);
db.pragma('busy_timeout = 5000');
if (turns) takeWriteTurns(db, turns, 'background');
const insert = db.prepare('INSERT INTO filler (text) VALUES (?)');
const batch = db.transaction(() => {
  for (let i = 0; i < 100; i++) insert.run('x'.repeat(200));
});
let stop = false;
let done = 0;
parentPort!.on('message', () => (stop = true));
parentPort!.postMessage({ started: true });
while (!stop) {
  batch.immediate();
  done++;
  // Lets the stop message in between batches.
  if (done % 20 === 0) await new Promise((r) => setImmediate(r));
}
db.close();
parentPort!.postMessage({ done });
