import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { freePort } from './ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/**
 * Where the ready-built Asterisk 22 bundle is: `HOTLINE_TEST_ASTERISK`, else `../shared/asterisk-22`
 * beside the checkout. `null` with the reason when there is none (a newcomer's clone): the real-PBX
 * tier is then skipped, and says so — unless `HOTLINE_REQUIRE_ASTERISK=1` (CI), where that is a failure.
 */
export function findAsteriskBundle(): { dir: string } | { missing: string } {
  const configured = process.env.HOTLINE_TEST_ASTERISK;
  const dir = configured ? resolve(configured) : resolve(ROOT, '../shared/asterisk-22');
  if (existsSync(join(dir, 'start.sh')) && existsSync(join(dir, 'sbin/asterisk'))) return { dir };
  return { missing: configured ? `HOTLINE_TEST_ASTERISK=${configured} has no start.sh and sbin/asterisk` : `no Asterisk bundle at ${dir} (set HOTLINE_TEST_ASTERISK)` };
}

/** Decides whether the real-Asterisk tier runs here, printing why not (and failing in CI, where it must). */
export function realAsteriskTier(file: string): string | null {
  const found = findAsteriskBundle();
  if ('dir' in found) return found.dir;
  if (process.env.HOTLINE_REQUIRE_ASTERISK === '1') throw new Error(`real-Asterisk tier required (HOTLINE_REQUIRE_ASTERISK=1) but ${found.missing}`);
  console.warn(`[real-Asterisk tier SKIPPED] ${file}: ${found.missing}`);
  return null;
}

/** The lab: phones as Local channels, queues with members, the project's dialplan included as its README says. */
export function labDialplan(): string {
  return `; Written by Hotline's real-Asterisk tests, the way a site includes Hotline (dialplan/README.md).
[general]
static=yes
writeprotect=yes

#include ${join(ROOT, 'dialplan/extensions.conf')}

[globals]
HOTLINE_DEFAULT_QUEUE=support
HOTLINE_OUTBOUND_CONTEXT=lab-outbound

[from-pstn]
exten => 5000,1,Goto(hotline-ivr,s,1)
exten => 5049,1,Set(CHANNEL(language)=de)
 same => n,Goto(hotline-ivr,s,1)
; Several instances: offered to every instance (StasisBroadcast), or to hotline-a, then hotline-b.
exten => 5100,1,Goto(hotline-ivr-broadcast,s,1)
exten => 5200,1,Set(HOTLINE_FAILOVER_APPS=hotline-a&hotline-b)
 same => n,Goto(hotline-ivr-failover,s,1)

[phones]
; 201, 203, 205, 206 ring, answer after 0.5 s and stay until the caller hangs up.
exten => _20[1356],1,Ringing()
 same => n,Wait(0.5)
 same => n,Answer()
 same => n,Wait(120)
 same => n,Hangup()
exten => 202,1,Busy(2)
exten => 204,1,Ringing()
 same => n,Wait(120)

[lab-customers]
exten => 4930111,1,Ringing()
 same => n,Wait(0.5)
 same => n,Answer()
 same => n,Wait(2)
 same => n,Hangup()
exten => 4930222,1,Busy(2)

[lab-outbound]
exten => _+X.,1,Dial(Local/\${EXTEN:1}@lab-customers,20)
`;
}

export function labQueues(): string {
  return `[general]
persistentmembers = no
; The default queue (HOTLINE_DEFAULT_QUEUE): agent 205.
[support]
strategy = ringall
ringinuse = no
timeout = 15
member => Local/205@phones/n,0,Agent 205,Custom:agent205
; Billing: 203 answers, 204 rings and never answers.
[billing]
strategy = ringall
ringinuse = no
timeout = 15
member => Local/203@phones/n,0,Agent 203,Custom:agent203
member => Local/204@phones/n,0,Agent 204,Custom:agent204
; Sales: only the owner 201, so that pausing her is seen on AMI.
[sales]
strategy = ringall
ringinuse = no
member => Local/201@phones/n,0,Agent 201,Custom:agent201
`;
}

export interface RealAsterisk {
  work: string;
  ariUrl: string;
  ariPort: number;
  amiPort: number;
  cli(command: string): Promise<string>;
  /** Asterisk's `log/full` (every dialplan step, playbacks, warnings) so far. */
  fullLog(): string;
  stop(): Promise<void>;
  /** Starts it again in the same work dir on the same ports. */
  start(): Promise<void>;
  /** Stops it and removes its work dir. */
  dispose(): Promise<void>;
}

/** Starts a real Asterisk from `bundle` in a fresh work dir, on free ports, with the lab's configuration. */
export async function startAsterisk(bundle: string): Promise<RealAsterisk> {
  // Short: the control socket's path must fit 108 bytes.
  const work = mkdtempSync(join(tmpdir(), 'hl-ast-'));
  mkdirSync(join(work, 'etc'), { recursive: true });
  writeFileSync(join(work, 'etc/extensions.conf'), labDialplan());
  writeFileSync(join(work, 'etc/queues.conf'), labQueues());
  // Asterisk's recording directory (astspooldir/recording), as an installed Asterisk has it: ARI's
  // live recordings (voicemail) are refused without it, and start.sh does not make it.
  mkdirSync(join(work, 'spool/recording'), { recursive: true });
  let ariPort = 0;
  let amiPort = 0;
  const start = async () => {
    await run('bash', [join(bundle, 'start.sh'), work, '--ari-port', String(ariPort), '--ami-port', String(amiPort)], { timeout: 90_000 });
  };
  // A port picked free can be taken by someone else before Asterisk binds it: start.sh refuses, try others.
  for (let attempt = 1; ; attempt++) {
    ariPort = await freePort();
    amiPort = await freePort();
    try {
      await start();
      break;
    } catch (error) {
      if (attempt >= 3) throw new Error(`real Asterisk did not start: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`);
    }
  }
  const stop = async () => {
    await run('bash', [join(bundle, 'stop.sh'), work], { timeout: 60_000 }).catch(() => undefined);
  };
  return {
    work,
    ariUrl: `http://127.0.0.1:${ariPort}`,
    ariPort,
    amiPort,
    cli: async (command) => (await run('bash', [join(bundle, 'cli.sh'), work, command], { timeout: 30_000 })).stdout,
    fullLog: () => (existsSync(join(work, 'log/full')) ? readFileSync(join(work, 'log/full'), 'utf8') : ''),
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Resolves when `test` holds for an item pushed to `list` (already there or arriving), or rejects after `timeoutMs`. */
function waitIn<T>(list: T[], subscribe: (fn: () => void) => () => void, test: (item: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const found = list.find(test);
  if (found) return Promise.resolve(found);
  return new Promise((resolvePromise, reject) => {
    const unsubscribe = subscribe(() => {
      const hit = list.find(test);
      if (!hit) return;
      clearTimeout(timer);
      unsubscribe();
      resolvePromise(hit);
    });
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`${what} did not happen within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}

/** An AMI event as received, keys as Asterisk spells them, with the moment it arrived here. */
export type AmiEvent = { [field: string]: string | undefined } & { at: number };

/** A plain AMI client that records every event, for what a test asserts about calls on the real PBX. */
export async function amiObserver(port: number): Promise<{ events: AmiEvent[]; waitFor(test: (e: AmiEvent) => boolean, what: string, timeoutMs?: number): Promise<AmiEvent>; send(fields: Record<string, string>): void; close(): void }> {
  const events: AmiEvent[] = [];
  const listeners = new Set<() => void>();
  const socket: Socket = connect(port, '127.0.0.1');
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 4);
      const fields: Record<string, string> = {};
      for (const line of frame.split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trim();
      }
      if (fields.Event || fields.Response) {
        events.push(Object.assign(fields, { at: performance.now() }) as unknown as AmiEvent);
        for (const l of listeners) l();
      }
    }
  });
  socket.on('error', () => {});
  const send = (fields: Record<string, string>) => socket.write(`${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
  const subscribe = (fn: () => void) => {
    listeners.add(fn);
    return () => listeners.delete(fn);
  };
  const waitFor = (test: (e: AmiEvent) => boolean, what: string, timeoutMs = 20_000) => waitIn(events, subscribe, test, timeoutMs, what);
  await new Promise<void>((r, reject) => {
    socket.once('connect', () => r());
    socket.once('error', reject);
  });
  send({ Action: 'Login', Username: 'hotline', Secret: 'hotline', Events: 'on' });
  await waitFor((e) => e.Response === 'Success', 'AMI login');
  return { events, waitFor, send, close: () => socket.destroy() };
}

/** A caller on the real PBX: the caller's leg sits in the ARI app `callersim` and keys DTMF from there. */
export interface RealCall {
  /** The caller's leg (in `callersim`). */
  id: string;
  /** The leg that runs the dialplan into `Stasis(hotline)`: its Uniqueid in AMI, its id in ARI. */
  ivrId: string;
  /** Resolves once the IVR has answered (the caller's leg entered `callersim`). */
  answered(timeoutMs?: number): Promise<void>;
  keys(digits: string): Promise<void>;
  /** The caller says something: Asterisk plays `media` (e.g. `sound:hello-world`) into the call from the caller's side; resolves when it has been said. */
  say(media: string, timeoutMs?: number): Promise<void>;
  hangup(): Promise<void>;
}

/** Places calls into the lab's `from-pstn` as callers do, over a second ARI app of the test's own. */
export async function callerSim(ariUrl: string) {
  const auth = `Basic ${Buffer.from('hotline:hotline').toString('base64')}`;
  const events: Array<{ type: string; channel?: { id: string } }> = [];
  const listeners = new Set<() => void>();
  const ws = new WebSocket(`${ariUrl.replace(/^http/, 'ws')}/ari/events?app=callersim&api_key=hotline:hotline`);
  ws.on('message', (data) => {
    events.push(JSON.parse(String(data)) as (typeof events)[number]);
    for (const l of listeners) l();
  });
  ws.on('error', () => {});
  await new Promise<void>((r, reject) => {
    ws.once('open', () => r());
    ws.once('error', reject);
  });
  let n = 0;
  const prefix = `caller-${process.pid}-${Date.now().toString(36)}`;
  const rest = async (method: string, path: string, query: Record<string, string> = {}) => {
    const res = await fetch(`${ariUrl}/ari${path}?${new URLSearchParams(query)}`, { method, headers: { authorization: auth } });
    if (res.status >= 300) throw new Error(`ARI ${method} ${path}: ${res.status} ${await res.text()}`);
  };
  const subscribe = (fn: () => void) => {
    listeners.add(fn);
    return () => listeners.delete(fn);
  };
  return {
    /** Dials `exten` (5000: the hotline; 5049: the hotline as a German caller; 5100 / 5200: offered to several instances, see labDialplan). */
    async place(options: { number?: string; name?: string; exten?: string } = {}): Promise<RealCall> {
      const id = `${prefix}-${++n}`;
      const ivrId = `${id}-2`;
      await rest('POST', '/channels', {
        endpoint: `Local/${options.exten ?? '5000'}@from-pstn`,
        app: 'callersim',
        channelId: id,
        otherChannelId: ivrId,
        callerId: `"${options.name ?? 'Caller'}" <${options.number ?? '0301234567'}>`,
      });
      return {
        id,
        ivrId,
        answered: (timeoutMs = 15_000) => waitIn(events, subscribe, (e) => e.type === 'StasisStart' && e.channel?.id === id, timeoutMs, `IVR answering ${id}`).then(() => undefined),
        keys: (digits) => rest('POST', `/channels/${id}/dtmf`, { dtmf: digits, between: '100', duration: '100' }),
        async say(media, timeoutMs = 20_000) {
          const playbackId = `${id}-say-${++n}`;
          const done = waitIn(events, subscribe, (e) => e.type === 'PlaybackFinished' && (e as { playback?: { id: string } }).playback?.id === playbackId, timeoutMs, `caller ${id} saying ${media}`);
          await rest('POST', `/channels/${id}/play`, { media, playbackId });
          await done;
        },
        hangup: () => rest('DELETE', `/channels/${id}`).catch(() => undefined),
      };
    },
    close: () => ws.terminate(),
  };
}

export type CallerSim = Awaited<ReturnType<typeof callerSim>>;
