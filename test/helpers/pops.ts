import type { Socket } from 'socket.io-client';
import { fetchLogin, sessionCookie } from './login.js';
import { io } from 'socket.io-client';
import { buildServer } from '../../src/http/server.js';
import type { FakeCall } from '../fake-asterisk/fake-asterisk.js';
import type { PbxHarness } from './pbx.js';
import { pbxHarness } from './pbx.js';

/** An event a test socket received, with what the fake PBX had done by then. */
export interface Received {
  event: string;
  payload: Record<string, unknown>;
  /** The fake's DialBegin frames at the moment the event arrived. */
  dialBeginsSoFar: number;
}

/** The PBX harness plus the HTTP server (pages + socket.io) listening on loopback. */
export async function popHarness() {
  const h: PbxHarness = await pbxHarness();
  let server = await buildServer(h.hotline, { pbx: h.pbx });
  const base = await server.listen({ host: '127.0.0.1', port: 0 });
  const sockets: Socket[] = [];
  const dialBegins = () => h.fake.ami.frames.filter((f) => f.dir === 'in' && f.raw.startsWith('Event: DialBegin')).length;

  async function cookieFor(login: string): Promise<string> {
    const res = await fetchLogin(base, login, 'password123');
    if (res.status !== 303) throw new Error(`login ${login}: ${res.status}`);
    return sessionCookie(res.headers.get('set-cookie'));
  }

  /** An agent's browser socket; every `call.*` event is recorded (and `call.incoming` acknowledged, as the page does). */
  async function connect(login: string, cookie?: string) {
    const socket = io(base, { extraHeaders: { cookie: cookie ?? (await cookieFor(login)) }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(socket);
    const received: Received[] = [];
    socket.onAny((event: string, payload: Record<string, unknown>, ack?: (x: string) => void) => {
      received.push({ event, payload, dialBeginsSoFar: dialBegins() });
      if (typeof ack === 'function') ack('shown');
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return { socket, received, events: () => received.map((r) => r.event) };
  }

  return {
    ...h,
    get server() {
      return server;
    },
    base,
    /** Closes the HTTP server (pages and sockets) as a graceful stop does, and starts it again on `port`. */
    async restartServer(port: number) {
      await server.close();
      server = await buildServer(h.hotline, { pbx: h.pbx });
      await server.listen({ host: '127.0.0.1', port });
    },
    cookieFor,
    connect,
    /** Places a call that keys `digits` once the IVR listens. */
    async call(digits: string, caller = '0301234567'): Promise<FakeCall> {
      const call = h.fake.placeCall({ number: caller, name: 'Caller' });
      await call.waitFor('stasis-start');
      await call.press(digits);
      return call;
    },
    async close() {
      for (const s of sockets) s.disconnect();
      await server.close();
      await h.close();
    },
  };
}

export type PopHarness = Awaited<ReturnType<typeof popHarness>>;
