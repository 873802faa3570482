import type { Article } from '../core/types.js';
import type { Worker } from 'node:worker_threads';
import type { Hotline } from '../app.js';
import type { Config } from '../config.js';
import type { WebMail } from '../http/ports.js';
import { backoffDelay } from '../pbx/with-timeout.js';
import { asBuffer, startModuleThread } from '../thread.js';
import type { WireError } from '../web/protocol.js';
import { createReplies, fromWire, ThreadUnavailableError } from '../web/protocol.js';

/** What the thread is started with. */
export interface MailChannelData {
  config: Config;
  writeTurns: SharedArrayBuffer | null;
  /**
   * true: the `mail` role — SMTP, IMAP, the outbox and the background work. false: only what the pages
   * of a web instance without that role need (queueing replies, the flagged messages).
   */
  listen: boolean;
}

/** Main → mail channel thread. */
export type ToMailChannel =
  | { type: 'call'; call: number; method: keyof WebMail; args: unknown[] }
  /** The TTN scheme changed: new tickets from mail must follow it. */
  | { type: 'settings-changed' }
  | { type: 'stop' };

/** Mail channel thread → main. */
export type FromMailChannel =
  | { type: 'ready'; status: string; smtpPort: number | null }
  | { type: 'failed'; error: WireError }
  | { type: 'result'; call: number; value?: unknown; error?: WireError };

/**
 * `hotline serve`'s e-mail channel (SMTP, IMAP, filing, outbox) on a thread of its own (see
 * mail-channel-thread.ts). Resolves once it listens; rejects with its reason when it cannot start
 * (an SMTP port in use, say). A thread that dies later is started again; stored messages it had not
 * filed are filed by the new one (the resume pass), and the pages' requests meanwhile fail clearly.
 */
export async function startMailChannel(hotline: Pick<Hotline, 'config' | 'log' | 'writeTurns'>, options: { listen: boolean } = { listen: true }) {
  const log = hotline.log;
  const replies = createReplies();
  let next = 0;
  let thread: Worker | null = null;
  let status = 'starting';
  let smtpPort: number | null = null;
  let closing = false;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;

  function start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = startModuleThread(import.meta.url, 'mail-channel-thread', { config: hotline.config, writeTurns: hotline.writeTurns, listen: options.listen } satisfies MailChannelData);
      thread = w;
      let ready = false;
      w.on('message', (m: FromMailChannel) => {
        if (m.type === 'ready') {
          ready = true;
          restarts = 0;
          status = m.status;
          smtpPort = m.smtpPort;
          resolve();
        } else if (m.type === 'failed') reject(fromWire(m.error));
        else replies.settle(m);
      });
      w.on('error', (error) => (ready ? lost(w, error) : reject(error)));
      w.on('exit', (code) => (ready ? lost(w, new Error(`the mail thread stopped (exit code ${code})`)) : reject(new Error(`the mail thread stopped while starting (exit code ${code})`))));
    });
  }

  function lost(w: Worker, error: Error): void {
    if (thread !== w) return;
    thread = null;
    status = 'restarting';
    replies.failAll(new ThreadUnavailableError('the mail channel stopped; try again in a moment'));
    if (closing) return;
    const delay = backoffDelay(restarts++, 30_000);
    log.error({ err: error.message, restartInMs: delay }, 'the mail thread stopped; calls and pages go on, and mail starts again');
    restartTimer = setTimeout(() => {
      start().catch((e: unknown) => {
        log.error({ err: (e as Error).message }, 'the mail thread could not start again');
        if (thread) lost(thread, e as Error);
      });
    }, delay);
  }

  function call(method: keyof WebMail, args: unknown[]): Promise<unknown> {
    if (!thread) return Promise.reject(new ThreadUnavailableError('the mail channel is starting again; try again in a moment'));
    const id = ++next;
    const answer = replies.expect(id);
    thread.postMessage({ type: 'call', call: id, method, args } satisfies ToMailChannel);
    return answer;
  }

  await start();
  const channel: WebMail = {
    status: () => call('status', []).then((s) => (status = s as string)),
    counts: () => call('counts', []) as ReturnType<WebMail['counts']>,
    flagged: (offset, limit) => call('flagged', [offset, limit]) as ReturnType<WebMail['flagged']>,
    rawBytes: async (id) => {
      const bytes = (await call('rawBytes', [id])) as Uint8Array | null;
      return bytes && asBuffer(bytes);
    },
    reprocess: (id) => call('reprocess', [id]) as Promise<boolean>,
    reply: (ticket, agent, input) => call('reply', [ticket, agent, input]) as Promise<Article>,
  };
  return {
    ...channel,
    /** The last status line the thread gave (for the start-up message). */
    lastStatus: () => status,
    smtpPort: () => smtpPort,
    settingsChanged(): void {
      thread?.postMessage({ type: 'settings-changed' } satisfies ToMailChannel);
    },
    async close(): Promise<void> {
      closing = true;
      clearTimeout(restartTimer);
      const w = thread;
      if (!w) return;
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.postMessage({ type: 'stop' } satisfies ToMailChannel);
      // Mail being filed gets up to 10 s to finish (as in startMail's close), then the thread is stopped.
      const timer = setTimeout(() => void w.terminate(), 15_000);
      await exited;
      clearTimeout(timer);
      thread = null;
    },
  };
}

export type MailChannel = Awaited<ReturnType<typeof startMailChannel>>;
