// The mail worker's side: parses (and sanitises) incoming and composes outgoing messages, one job at
// a time, so the main thread can tell which job was running if this thread dies or hangs.
import { parentPort } from 'node:worker_threads';
import type { OutgoingMail } from './compose.js';
import { composeMail } from './compose.js';
import { readMail } from './parse.js';

export type MailJobBody = { kind: 'read'; raw: Uint8Array } | { kind: 'compose'; mail: OutgoingMail; messageId: string };
export type MailJob = MailJobBody & { id: number };
/** `ready` once this thread has loaded its modules: deadlines count from then, not from its start. */
export type MailJobResult = { id: number; result: unknown } | { id: number; error: string } | { ready: true };

const port = parentPort;
if (port) {
  let queue = Promise.resolve();
  port.on('message', (job: MailJob) => {
    queue = queue.then(async () => {
      try {
        const result =
          job.kind === 'read' ? await readMail(Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength)) : await composeMail(job.mail, job.messageId);
        port.postMessage({ id: job.id, result } satisfies MailJobResult);
      } catch (error) {
        port.postMessage({ id: job.id, error: error instanceof Error ? error.message : String(error) } satisfies MailJobResult);
      }
    });
  });
  port.postMessage({ ready: true } satisfies MailJobResult);
}
