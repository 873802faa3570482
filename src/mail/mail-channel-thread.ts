// The e-mail channel of `hotline serve` on a thread of its own: the SMTP listener, the IMAP poller,
// filing (with its writes) and the outbox, on a connection of its own to the same SQLite file. A
// flood of mail then costs the call path on the main thread nothing but the database's write lock.
// The main thread (mail-channel.ts) and, through it, the pages reach it by messages.
import { parentPort, workerData } from 'node:worker_threads';
import { createHotline } from '../app.js';
import { localMail } from '../http/ports.js';
import type { WebMail } from '../http/ports.js';
import { BACKGROUND_NICE, lowerThreadPriority } from '../thread.js';
import { toWire } from '../web/protocol.js';
import type { FromMailChannel, MailChannelData, ToMailChannel } from './mail-channel.js';
import { startMail } from './mail.js';

// A write here may wait for a lock longer than one on the main thread may: it delays only mail.
const MAIL_BUSY_TIMEOUT_MS = 2000;

const port = parentPort;
if (!port) throw new Error('mail-channel-thread.ts runs as a worker thread of `hotline serve`');
const post = (message: FromMailChannel) => port.postMessage(message);
const { config, writeTurns, listen } = workerData as MailChannelData;
// The mail thread and the parsing thread it starts give way to the call path.
lowerThreadPriority(BACKGROUND_NICE);

try {
  const hotline = await createHotline(config, { busyTimeoutMs: MAIL_BUSY_TIMEOUT_MS, installPrompts: false, writeTurns: writeTurns ? { shared: writeTurns, role: 'background' } : undefined });
  const mail = await startMail(hotline, config, { listen, send: listen }).catch(async (error: unknown) => {
    await hotline.close().catch(() => undefined);
    throw error;
  });
  const calls: WebMail = localMail(mail);
  hotline.watchSettings();
  port.on('message', (m: ToMailChannel) => {
    if (m.type === 'stop') {
      void mail
        .close()
        .then(() => hotline.close())
        .finally(() => port.close());
      return;
    }
    if (m.type === 'settings-changed') {
      void hotline.reloadSettings().catch((error: unknown) => hotline.log.error({ err: error }, 'could not read the changed settings again'));
      return;
    }
    const method = calls[m.method] as (...args: unknown[]) => Promise<unknown>;
    method(...m.args).then(
      (value) => post({ type: 'result', call: m.call, value }),
      (error: unknown) => post({ type: 'result', call: m.call, error: toWire(error) }),
    );
  });
  post({ type: 'ready', status: await mail.status(), smtpPort: mail.smtpPort() });
} catch (error) {
  post({ type: 'failed', error: toWire(error) });
  port.close();
}
