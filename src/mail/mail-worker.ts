import type { Worker } from 'node:worker_threads';
import { asBuffer, startModuleThread } from '../thread.js';
import type { Logger } from '../logger.js';
import type { OutgoingMail } from './compose.js';
import type { MailJob, MailJobBody, MailJobResult } from './mail-thread.js';
import type { MailMessage } from './parse.js';

interface Pending {
  job: MailJob;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** The service is stopping: the job was not done, and its message is left to be filed at the next start. */
export class MailThreadClosedError extends Error {
  constructor() {
    super('the mail thread is closed');
    this.name = 'MailThreadClosedError';
  }
}

/**
 * Parsing (with HTML sanitising) and composing mail on a thread of its own. The IVR, the
 * screen-pops and the agents' pages share the main thread: mail, however large or hostile, must
 * neither stall them nor take the service down. Jobs run in order; one that outlives its deadline
 * or kills the thread fails alone (the pipeline keeps its message and flags it), and the thread is
 * started again for the jobs behind it.
 */
export function createMailWorker(options: { log: Logger; deadlineMs?: number }) {
  const deadlineMs = options.deadlineMs ?? 30_000;
  // In the order sent, which is the order the thread works in: the first is the one running.
  const pending = new Map<number, Pending>();
  let worker: Worker | null = null;
  let ready = false;
  let nextId = 1;
  let timedId = 0;
  let deadline: NodeJS.Timeout | undefined;
  let closed = false;

  function start(): Worker {
    const w = startModuleThread(import.meta.url, 'mail-thread');
    ready = false;
    w.on('message', (answer: MailJobResult) => {
      if ('ready' in answer) {
        ready = true;
        return watchFirst();
      }
      const p = pending.get(answer.id);
      if (!p) return;
      pending.delete(answer.id);
      if ('error' in answer) p.reject(new Error(answer.error));
      else p.resolve(answer.result);
      watchFirst();
    });
    w.on('error', (error) => lost(w, error));
    w.on('exit', (code) => lost(w, new Error(`the mail thread stopped (exit code ${code})`)));
    return w;
  }

  /** The deadline runs for the job the thread is working on (once the thread has started). */
  function watchFirst(): void {
    const first = pending.keys().next();
    if (first.done || !ready) {
      clearTimeout(deadline);
      timedId = 0;
      // Idle: the thread must not keep a finished CLI run alive.
      if (first.done) worker?.unref();
      return;
    }
    if (first.value === timedId) return;
    clearTimeout(deadline);
    timedId = first.value;
    deadline = setTimeout(() => worker && lost(worker, new Error(`the mail thread gave up after ${deadlineMs / 1000} s`)), deadlineMs);
  }

  /** The thread died or hung: its current job fails, the others go to a new thread. */
  function lost(w: Worker, error: Error): void {
    if (worker !== w) return;
    worker = null;
    void w.terminate();
    timedId = 0;
    const first = pending.entries().next();
    if (!first.done) {
      pending.delete(first.value[0]);
      options.log.error({ err: error.message }, 'a mail job failed its thread; the message is kept, and the thread restarted');
      first.value[1].reject(error);
    }
    if (closed) return;
    if (pending.size > 0) {
      worker = start();
      for (const p of pending.values()) worker.postMessage(p.job);
    }
    watchFirst();
  }

  function run(job: MailJobBody): Promise<unknown> {
    if (closed) return Promise.reject(new MailThreadClosedError());
    const full: MailJob = { ...job, id: nextId++ };
    return new Promise((resolve, reject) => {
      pending.set(full.id, { job: full, resolve, reject });
      worker ??= start();
      worker.ref();
      worker.postMessage(full);
      watchFirst();
    });
  }

  return {
    /** The message parsed, its HTML sanitised, faxes previewed; rejects when it cannot be read. */
    async read(raw: Buffer): Promise<MailMessage> {
      const mail = (await run({ kind: 'read', raw })) as MailMessage;
      return { ...mail, attachments: mail.attachments.map((a) => ({ ...a, content: asBuffer(a.content), preview: a.preview ? asBuffer(a.preview) : a.preview })) };
    },
    /** The complete outgoing message (nodemailer's composer). */
    async compose(mail: OutgoingMail, messageId: string): Promise<Buffer> {
      return asBuffer((await run({ kind: 'compose', mail, messageId })) as Uint8Array);
    },
    async close(): Promise<void> {
      closed = true;
      clearTimeout(deadline);
      const w = worker;
      worker = null;
      for (const p of pending.values()) p.reject(new MailThreadClosedError());
      pending.clear();
      await w?.terminate();
    },
  };
}

export type MailWorker = ReturnType<typeof createMailWorker>;
