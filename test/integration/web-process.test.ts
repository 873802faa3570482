import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { connect, createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Socket } from 'node:net';
import { peekRequest } from '../../src/web/protocol.js';
import { pathOf } from '../helpers/web.js';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, get as httpGet } from 'node:http';
import { io } from 'socket.io-client';
import { testHotline } from '../helpers/hotline.js';
import type { PbxHarness } from '../helpers/pbx.js';
import { pbxHarness } from '../helpers/pbx.js';
import { startServe } from '../helpers/serve.js';
import { sineWav } from '../helpers/wav.js';
import { fetchLogin, loginFormToken, sessionCookie } from '../helpers/login.js';

let h: PbxHarness | undefined;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await h?.close();
  h = undefined;
});

/** Tickets whose articles a search must read through: each search takes the pages' process a while. */
function searchableHistory(harness: PbxHarness, queueId: number, tickets: number) {
  const db = harness.hotline.db;
  const ticket = db.prepare("INSERT INTO tickets (ttn, title, queue_id, state, priority, created_at, updated_at) VALUES (?, ?, ?, 'open', 3, ?, ?) RETURNING id").pluck();
  const article = db.prepare("INSERT INTO articles (ticket_id, kind, body_text, created_at) VALUES (?, 'note', ?, ?)");
  const text = 'The printer on the second floor prints blank pages again. '.repeat(60);
  db.transaction(() => {
    for (let i = 0; i < tickets; i++) {
      const at = new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString();
      const id = ticket.all(`7${String(i).padStart(10, '0')}`, `History ${i}`, queueId, at, at)[0] as number;
      for (let a = 0; a < 3; a++) article.run(id, `${text} ${i}.${a}`, at);
    }
  })();
}

describe('pages in a process of their own', () => {
  it('puts a caller through to the owner within 2 s while hundreds of slow searches occupy the pages', async () => {
    h = await pbxHarness();
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    searchableHistory(h, h.queues.billing.id, 3000);
    const token = await h.hotline.auth.createApiToken(h.agents.alice.id, 'load');
    await h.stopPbx();
    h.hotline.close();
    const serve = await startServe(h.hotline.dir, { HOTLINE_DATA_DIR: h.hotline.dir, HOTLINE_ARI_URL: h.fake.ariUrl, HOTLINE_AMI_PORT: String(h.fake.amiPort), HOTLINE_SMTP_ENABLED: 'false' });
    cleanups.push(() => serve.stop('SIGKILL'));
    await h.fake.waitForApp('hotline', true);

    // 300 agents search the whole history (nothing matches: every article is read); each one that is
    // answered searches again at once, so the pages stay this busy until the caller is through.
    let answered = 0;
    let inFlight = 0;
    let loading = true;
    const statuses: number[] = [];
    const agent = async (): Promise<void> => {
      while (loading) {
        inFlight++;
        const res = await fetch(`${serve.url}/api/v1/tickets?q=no-such-words&limit=50`, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        inFlight--;
        answered++;
        statuses.push(res.status);
      }
    };
    const agents = Array.from({ length: 300 }, agent);
    // The pages are busy: the first answers have come.
    await expect.poll(() => answered, { timeout: 30_000 }).toBeGreaterThan(0);

    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('answered Local/201@phones');
    const waitingAtHandOff = inFlight;
    loading = false;
    console.info(`[web] last key to hand-off ${call.handOffMs()?.toFixed(0)} ms with ${waitingAtHandOff} searches waiting (${answered} answered so far)`);
    expect(call.handOffMs()).toBeLessThan(2000);
    expect(waitingAtHandOff).toBeGreaterThan(100);
    expect(call.vars.get('HOTLINE_TTN')).toBe(ticket.ttn);

    // Every search is answered in the end: found nothing (200) or, past the queue, "try again" (503).
    await Promise.all(agents);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
  });

  it('keeps calls and pops going while the pages are frozen or killed; the pages come back, and socket.io works on their connections too', async () => {
    h = await pbxHarness();
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    const token = await h.hotline.auth.createApiToken(h.agents.alice.id, 'pops');
    await h.stopPbx();
    h.hotline.close();
    const serve = await startServe(h.hotline.dir, { HOTLINE_DATA_DIR: h.hotline.dir, HOTLINE_ARI_URL: h.fake.ariUrl, HOTLINE_AMI_PORT: String(h.fake.amiPort), HOTLINE_SMTP_ENABLED: 'false', HOTLINE_LOG_LEVEL: 'info' });
    cleanups.push(() => serve.stop('SIGKILL'));
    await h.fake.waitForApp('hotline', true);
    // The pages' process: the one child of `hotline serve`.
    const children = readFileSync(`/proc/${serve.child.pid}/task/${serve.child.pid}/children`, 'utf8').trim().split(' ').map(Number);
    const web = children.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('web-process'))!;
    expect(web).toBeGreaterThan(0);
    expect(readFileSync(`/proc/${web}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]).toBe('10');

    // Alice's screen, over a websocket handed from the pages' process to the call path's.
    const pops: string[] = [];
    let disconnects = 0;
    const alice = io(serve.url, { auth: { token }, transports: ['websocket'], forceNew: true });
    cleanups.push(() => alice.close());
    alice.on('call.incoming', (pop: { ticket: { ttn: string } | null }, ack?: () => void) => {
      pops.push(pop.ticket?.ttn ?? '');
      ack?.();
    });
    alice.on('disconnect', () => disconnects++);
    await new Promise<void>((resolve) => alice.once('connect', () => resolve()));

    const callThrough = async () => {
      const call = h!.fake.placeCall({ number: '0301234567' });
      await call.waitFor('stasis-start');
      await call.press(`${ticket.ttn}#`);
      await call.waitFor('answered Local/201@phones');
      expect(call.handOffMs()).toBeLessThan(2000);
      expect(call.vars.get('HOTLINE_TTN')).toBe(ticket.ttn);
      return call.handOffMs();
    };

    // Frozen pages (SIGSTOP: not a byte is read or written there): the caller and the pop go through.
    process.kill(web, 'SIGSTOP');
    let frozen: number | undefined;
    try {
      frozen = await callThrough();
      expect(pops).toEqual([ticket.ttn]);
    } finally {
      process.kill(web, 'SIGCONT');
    }

    // Killed pages: started again on the same port; the websocket never noticed.
    process.kill(web, 'SIGKILL');
    await serve.waitForOutput(/the web process stopped/);
    const killed = await callThrough();
    expect(pops).toEqual([ticket.ttn, ticket.ttn]);
    await expect.poll(async () => (await fetch(`${serve.url}/login`).catch(() => null))?.status, { timeout: 20_000 }).toBe(200);
    expect(disconnects).toBe(0);
    console.info(`[web] last key to hand-off ${frozen?.toFixed(0)} ms with the pages frozen, ${killed?.toFixed(0)} ms with them killed`);

    // socket.io on a connection that carried a page first (a browser's kept-alive one): the client
    // script and the long-polling handshake are answered by the call path's process all the same.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const get = (path: string) =>
      new Promise<{ status: number; body: string; reused: boolean }>((resolve, reject) => {
        const req = httpGet(`${serve.url}${path}`, { agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }));
        });
        req.on('error', reject);
      });
    expect((await get('/login')).status).toBe(200);
    const script = await get('/socket.io/socket.io.js');
    expect(script).toMatchObject({ status: 200, reused: true });
    expect(script.body).toContain('Socket.IO');
    const handshake = await get('/socket.io/?EIO=4&transport=polling');
    expect(handshake).toMatchObject({ status: 200, reused: true });
    expect(handshake.body).toMatch(/^0\{"sid":/);
    // A connection that began with socket.io's script (a browser loading it on a fresh connection)
    // then carries a page: the page is answered, not lost to the pops' side.
    const fresh = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => fresh.destroy());
    const on = (agentFor: Agent, path: string) =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = httpGet(`${serve.url}${path}`, { agent: agentFor }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on('error', reject);
      });
    expect(await on(fresh, '/socket.io/socket.io.js')).toMatchObject({ status: 200, reused: false });
    expect(await on(fresh, '/login')).toMatchObject({ status: 200, reused: true });

    // Ctrl-C in a terminal signals the whole group: the service stops cleanly, pages and all, and
    // does not take the pages' share of the signal for a crash.
    const restarted = Number(readFileSync(`/proc/${serve.child.pid}/task/${serve.child.pid}/children`, 'utf8').trim().split(' ')[0]);
    const stoppedBefore = serve.output().split('the web process stopped').length;
    process.kill(restarted, 'SIGINT');
    // The pages' process leaves it to the main one: it still serves.
    expect((await fetch(`${serve.url}/login`)).status).toBe(200);
    expect(existsSync(`/proc/${restarted}`)).toBe(true);
    expect(await serve.stop('SIGINT')).toBe(0);
    expect(serve.output().split('the web process stopped').length).toBe(stoppedBefore);
    expect(existsSync(`/proc/${restarted}`)).toBe(false);
  });

  it('leaves a call its file descriptors when web clients take every connection they can', async () => {
    // Every ARI request on a new socket (Connection: close), as after an idle spell: each needs a descriptor.
    h = await pbxHarness({ fake: { ariKeepAlive: false } });
    const ticket = await h.ticket(h.queues.billing.id, h.agents.alice.id);
    await h.stopPbx();
    h.hotline.close();
    const openFiles = 400;
    const serve = await startServe(
      h.hotline.dir,
      { HOTLINE_DATA_DIR: h.hotline.dir, HOTLINE_ARI_URL: h.fake.ariUrl, HOTLINE_AMI_PORT: String(h.fake.amiPort), HOTLINE_SMTP_ENABLED: 'false' },
      30_000,
      undefined,
      { openFiles },
    );
    cleanups.push(() => serve.stop('SIGKILL'));
    await h.fake.waitForApp('hotline', true);

    // More idle connections than the process could hold beside its own files.
    const port = Number(new URL(serve.url).port);
    const flood: Socket[] = [];
    let refused = 0;
    await Promise.all(
      Array.from(
        { length: openFiles },
        () =>
          new Promise<void>((resolve) => {
            const socket = connect(port, '127.0.0.1');
            flood.push(socket);
            socket.once('connect', () => resolve());
            socket.once('close', () => {
              refused++;
              resolve();
            });
            socket.on('error', () => {});
          }),
      ),
    );
    cleanups.push(() => flood.forEach((s) => s.destroy()));
    // The service closed what it could not take (its cap), instead of running out of descriptors.
    await expect.poll(() => refused).toBeGreaterThan(0);

    const call = h.fake.placeCall({ number: '0301234567' });
    await call.waitFor('stasis-start');
    await call.press(`${ticket.ttn}#`);
    await call.waitFor('answered Local/201@phones');
    console.info(`[web] ${refused} of ${openFiles} web connections refused; last key to hand-off ${call.handOffMs()?.toFixed(0)} ms`);
    expect(call.handOffMs()).toBeLessThan(2000);
    expect(call.vars.get('HOTLINE_TTN')).toBe(ticket.ttn);
    expect(serve.output()).not.toMatch(/EMFILE/);
  });
});

describe('mail on its own thread', () => {
  it('files mail sent to hotline serve with the TTN scheme and the auto-reply wording an admin just chose on the pages, and sends the reply typed there', async () => {
    const hotline = await testHotline();
    const dir = hotline.dir;
    hotline.close();
    const serve = await startServe(dir, { HOTLINE_DATA_DIR: dir, HOTLINE_ARI_URL: 'http://127.0.0.1:1', HOTLINE_AMI_PORT: '1' });
    cleanups.push(() => serve.stop('SIGKILL'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // Printed after the "listening" line, which is when startServe resolves.
    const password = (await serve.waitForOutput(/password "([^"]+)"/))[1]!;
    const smtpPort = Number((await serve.waitForOutput(/SMTP listening on [\d.]+:(\d+)/))[1]);

    // The admin logs in and switches new tickets to random numbers (the pages' process stores it).
    const cookie = sessionCookie((await fetchLogin(serve.url, 'admin', password)).headers.get('set-cookie'));
    const form = await (await fetch(`${serve.url}/admin/ttn`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form)![1]!;
    const saved = await fetch(`${serve.url}/admin/ttn`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ _csrf: csrf, generator: 'random', checkDigit: 'luhn', systemId: '10' }), redirect: 'manual' });
    expect(saved.status).toBe(303);
    // And rewords the auto-reply (the pages' process stores it; the mail thread, in the main process, uses it).
    const texts = await (await fetch(`${serve.url}/admin/texts?lang=en&q=mail.autoReply`, { headers: { cookie } })).text();
    const textToken = /name="_csrf" value="([^"]+)"/.exec(texts)![1]!;
    const reworded = await fetch(`${serve.url}/admin/texts`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ _csrf: textToken, lang: 'en', key: 'mail.autoReply', text: 'Dear {name}, your ticket is {ttn}. The pages said so.' }), redirect: 'manual' });
    expect(reworded.status).toBe(303);

    // A customer writes: the mail thread files it under a random number, not today's date.
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true });
    cleanups.push(() => transport.close());
    await transport.sendMail({ from: 'carl@example.org', to: 'support@hotline.example', subject: 'Printer broken', text: 'It smokes.' });
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    let ttn = '';
    await expect
      .poll(async () => {
        const list = (await (await fetch(`${serve.url}/api/v1/tickets`, { headers: { cookie } })).json()) as Array<{ ttn: string; title: string }>;
        ttn = list.find((t) => t.title === 'Printer broken')?.ttn ?? '';
        return ttn;
      })
      .toMatch(/^\d{14}$/);
    expect(ttn.startsWith(today)).toBe(false);
    const outbox = join(dir, 'outbox');
    await expect.poll(() => readdirSync(outbox).map((f) => readFileSync(join(outbox, f), 'utf8')).find((m) => m.includes(`[Ticket#${ttn}]`)) ?? '').toContain(`Dear carl@example.org, your ticket is ${ttn}. The pages said so.`);

    // The admin answers on the ticket page; the mail thread puts the reply in the outbox.
    const page = await (await fetch(`${serve.url}/tickets/${ttn}`, { headers: { cookie } })).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const replied = await fetch(`${serve.url}/tickets/${ttn}/reply`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ _csrf: token, to: 'carl@example.org', subject: 'Printer broken', text: 'A technician is on the way.' }), redirect: 'manual' });
    expect(pathOf(replied.headers.get('location'))).toBe(`/tickets/${ttn}?done=reply-queued`);
    await expect.poll(() => readdirSync(outbox).map((f) => readFileSync(join(outbox, f), 'utf8')).find((m) => m.includes('A technician is on the way.')) ?? '').toContain(`[Ticket#${ttn}]`);
  });
});

describe('uploads through the front', () => {
  it('streams an admin\'s prompt upload to the pages\' process, which converts and stores it', async () => {
    const hotline = await testHotline();
    const dir = hotline.dir;
    hotline.close();
    const serve = await startServe(dir, { HOTLINE_DATA_DIR: dir, HOTLINE_ARI_URL: 'http://127.0.0.1:1', HOTLINE_AMI_PORT: '1', HOTLINE_SMTP_ENABLED: 'false' });
    cleanups.push(() => serve.stop('SIGKILL'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const password = (await serve.waitForOutput(/password "([^"]+)"/))[1]!;
    const cookie = sessionCookie((await fetchLogin(serve.url, 'admin', password)).headers.get('set-cookie'));
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await fetch(`${serve.url}/admin/prompts`, { headers: { cookie } })).text())![1]!;
    const stored = join(dir, 'prompts', 'en', 'goodbye.wav');
    const before = readFileSync(stored);

    // 44.1 kHz stereo, 3 s: about 530 KB, many chunks from the socket, each pulled by the route.
    const form = new FormData();
    form.append('file', new Blob([sineWav(44_100, 2, 16, 3)], { type: 'audio/wav' }), 'goodbye-studio.wav');
    const res = await fetch(`${serve.url}/admin/prompts/en/goodbye?_csrf=${encodeURIComponent(csrf)}`, { method: 'POST', headers: { cookie }, body: form, redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(pathOf(res.headers.get('location'))).toBe('/admin/prompts?done=prompt-saved');
    const after = readFileSync(stored);
    expect(after.equals(before)).toBe(false);
    // Converted for the telephone: 8 kHz mono 16-bit, 3 s.
    expect(after.readUInt32LE(24)).toBe(8000);
    expect(after.readUInt16LE(22)).toBe(1);
    expect(after.length).toBeGreaterThan(44 + 3 * 16_000 - 100);

    // Without the form's token, nothing is read or stored.
    const refused = await fetch(`${serve.url}/admin/prompts/en/goodbye`, { method: 'POST', headers: { cookie }, body: form, redirect: 'manual' });
    expect(refused.status).toBe(403);
    expect(readFileSync(stored).equals(after)).toBe(true);
  });
});

describe("a connection's first request", () => {
  it('is read, not dropped, when the event loop was busy past the deadline with the request already sent', async () => {
    const server = createNetServer({ pauseOnConnect: true });
    const heads: Array<string | null> = [];
    const peeked = new Promise<void>((resolve) =>
      server.on('connection', (socket: Socket) => {
        peekRequest(socket, 20, (head) => {
          heads.push(head ? head.path : null);
          socket.destroy();
          resolve();
        });
        // Busy well past the deadline (a long search on the pages, say) while the client has sent its request.
        for (const until = Date.now() + 1000; Date.now() < until; );
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const client = spawn(process.execPath, ['-e', `const s = require('node:net').connect(${port}, '127.0.0.1', () => s.write('GET /socket.io/?EIO=4 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')); s.on('close', () => process.exit(0)); s.on('error', () => process.exit(0));`]);
    cleanups.push(() => void client.kill());
    await peeked;
    expect(heads).toEqual(['/socket.io/?EIO=4']);
  });

  it('leaves what the client sends next to the process its connection is handed to, however late that process takes it', async () => {
    // The other process blocks before it takes the socket, as a busy main process would: until it
    // acknowledges the handle, this process still holds it. A websocket client's first frame must not be read here meanwhile.
    const other = spawn(
      process.execPath,
      ['-e', `process.on('message', (m, socket) => { if (m === 'block') require('node:fs').readSync(0, Buffer.alloc(1), 0, 1, null); else { socket.on('data', (d) => process.send(String(d))); process.send('adopted'); } }); process.send('ready');`],
      { stdio: ['pipe', 'inherit', 'inherit', 'ipc'] },
    );
    cleanups.push(() => void other.kill());
    const said: string[] = [];
    const listeners = new Set<() => void>();
    other.on('message', (m: string) => {
      said.push(m);
      for (const l of listeners) l();
    });
    const heard = (test: () => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => test() && (listeners.delete(check), resolve());
        listeners.add(check);
        check();
      });
    await heard(() => said.includes('ready'));
    const server = createNetServer({ pauseOnConnect: true });
    const handedOver = new Promise<void>((resolve) =>
      server.on('connection', (socket: Socket) =>
        peekRequest(socket, 5000, () => {
          other.send('block');
          other.send('socket', socket);
          resolve();
        }),
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    cleanups.push(() => void client.destroy());
    client.write('GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n');
    await handedOver;
    await new Promise<void>((resolve) => client.write('first frame;', () => resolve()));
    // Two turns of this event loop, each with a poll for reads: a handle still reading here would take the frame.
    await new Promise<void>((resolve) => setImmediate(() => setImmediate(() => resolve())));
    other.stdin!.write('g');
    await heard(() => said.includes('adopted'));
    client.write('second frame;');
    await heard(() => said.join('').includes('second frame;'));
    expect(said.filter((m) => m !== 'ready' && m !== 'adopted').join('')).toBe('first frame;second frame;');
  });
});

describe('security in hotline serve (pages in their own process, sockets in the main one)', () => {
  it('counts 150 wrong passwords sent at once over HTTP before checking them, and a logout ends that session\'s open socket at once', async () => {
    const hotline = await testHotline();
    const dir = hotline.dir;
    hotline.close();
    // The first wait is 10 minutes here, so that no try of the burst comes after it has passed (with
    // the default 1 s a busy machine spread the 150 connections over more than a second: 6 checked).
    const serve = await startServe(dir, { HOTLINE_DATA_DIR: dir, HOTLINE_ARI_URL: 'http://127.0.0.1:1', HOTLINE_AMI_PORT: '1', HOTLINE_SMTP_ENABLED: 'false', HOTLINE_LOGIN_FIRST_WAIT_SECONDS: '600' });
    cleanups.push(() => serve.stop('SIGKILL'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const password = (await serve.waitForOutput(/password "([^"]+)"/))[1]!;

    // The admin's session and socket, opened first.
    const cookie = sessionCookie((await fetchLogin(serve.url, 'admin', password)).headers.get('set-cookie'));
    const socket = io(serve.url, { extraHeaders: { cookie }, transports: ['websocket'], reconnection: false, forceNew: true });
    cleanups.push(() => void socket.disconnect());
    const ended = new Promise<string>((resolve) => socket.on('disconnect', (reason) => resolve(reason)));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });

    const form = await fetch(`${serve.url}/login`);
    const { token, cookie: formCookie } = loginFormToken(await form.text(), form.headers.get('set-cookie'));
    // Each on a connection of its own, all sent before any is answered.
    const attempt = (pw: string) =>
      fetch(`${serve.url}/login`, { method: 'POST', headers: { cookie: formCookie, connection: 'close' }, body: new URLSearchParams({ login: 'admin', password: pw, _csrf: token }), redirect: 'manual' }).then((r) => r.status);
    const statuses = await Promise.all([...Array.from({ length: 149 }, (_, i) => attempt(`guess${i}`)), attempt(password)]);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(145);

    const page = await (await fetch(`${serve.url}/queues`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    expect((await fetch(`${serve.url}/logout`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ _csrf: csrf }), redirect: 'manual' })).status).toBe(303);
    expect(await ended).toBe('io server disconnect');
  });
});
