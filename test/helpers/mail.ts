import { readdirSync, readFileSync } from 'node:fs';
import { injectLogin, sessionCookie } from './login.js';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterEach } from 'vitest';
import type { ConfigInput } from '../../src/config.js';
import { buildServer } from '../../src/http/server.js';
import { startMail } from '../../src/mail/mail.js';
import { parseMail } from '../../src/mail/parse.js';
import { testHotline } from './hotline.js';

/** Hotline with its e-mail channel listening on a free loopback port; queues Support (default) and Billing with addresses. */
export async function mailHarness(config: ConfigInput = {}) {
  const hotline = await testHotline({ config: { smtpPort: 0, mailFrom: 'hotline@hotline.example', ...config } });
  const support = await hotline.directory.createQueue({ name: 'Support', email: 'support@hotline.example', isDefault: true });
  const billing = await hotline.directory.createQueue({ name: 'Billing', email: 'billing@hotline.example' });
  const mail = await startMail(hotline, hotline.config, { listen: true });
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: mail.smtpPort()!, secure: false, ignoreTLS: true });

  /** Raw text of a message, CRLF line ends. */
  const message = (headers: Record<string, string>, body = 'Hello.') =>
    Buffer.from(`${Object.entries({ Date: new Date().toUTCString(), 'Message-ID': `<${Math.random().toString(36).slice(2)}@customer.example>`, ...headers }).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}\r\n`);

  /** The .eml files the outbox wrote (the embedded default), parsed. */
  async function sent() {
    await mail.outbox.flush();
    const files = (() => {
      try {
        return readdirSync(mail.outbox.folder).filter((f) => f.endsWith('.eml')).sort();
      } catch {
        return [];
      }
    })();
    return Promise.all(files.map(async (f) => ({ file: f, raw: readFileSync(join(mail.outbox.folder, f)), mail: await parseMail(readFileSync(join(mail.outbox.folder, f))) })));
  }

  const servers: Array<{ close(): Promise<unknown> }> = [];
  /** The web pages over this mail channel, logged in as an admin (`root`, made on first use); closed with the harness. */
  async function adminPages() {
    const admin = (await hotline.agents.findByLogin('root')) ?? (await hotline.agents.create({ login: 'root', name: 'Root', role: 'admin', password: 'password123' })).agent;
    const server = await buildServer(hotline, { mail });
    servers.push(server);
    const login = await injectLogin(server, admin.login, 'password123');
    const cookie = sessionCookie(login.headers['set-cookie'] as string[]);
    const csrf = /name="_csrf" value="([^"]+)"/.exec((await server.inject({ url: '/tickets', headers: { cookie } })).body)?.[1] ?? '';
    return {
      get: (url: string) => server.inject({ url, headers: { cookie } }),
      /** A form post with the session's CSRF token (unless the payload brings its own). */
      post: (url: string, payload: Record<string, string>) => server.inject({ method: 'POST', url, headers: { cookie }, payload: { _csrf: csrf, ...payload } }),
    };
  }

  return {
    hotline,
    mail,
    transport,
    adminPages,
    queues: { support, billing },
    message,
    sent,
    ingest: (raw: Buffer, to: string[] = ['support@hotline.example']) => mail.pipeline.ingest(raw, { source: 'test', from: null, to }),
    ticketCount: () => hotline.db.prepare('SELECT count(*) FROM tickets').pluck().get() as number,
    async close() {
      for (const server of servers.splice(0)) await server.close();
      transport.close();
      await mail.close();
      hotline.dispose();
    },
  };
}

export type MailHarness = Awaited<ReturnType<typeof mailHarness>>;

/**
 * For a test file that uses the mail harness: `harness()` gives a test its own, and `cleanups`
 * takes what else it set up. After each test the clean-ups run, last first, then the harness closes.
 */
export function mailTestScope() {
  let current: MailHarness | undefined;
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await current?.close();
    current = undefined;
  });
  return {
    cleanups,
    harness: async (config: ConfigInput = {}) => (current = await mailHarness(config)),
  };
}

/**
 * A real SMTP relay on a free loopback port, as the outbox's `relayUrl` points to. `take` gets each
 * message's bytes; it may take its time (a slow relay), or throw an error with `responseCode` to refuse it.
 */
export async function testRelay(take: (raw: Buffer) => Promise<void> | void): Promise<{ port: number; close(): Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        Promise.resolve()
          .then(() => take(Buffer.concat(chunks)))
          .then(
            () => done(),
            (error: Error) => done(error),
          );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.server.address() as { port: number }).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
