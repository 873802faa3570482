import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer } from 'node:net';

/** An AMI frame as ordered key/value pairs (AMI keeps order; some keys repeat). */
export type AmiFields = Array<[string, string | number]>;

/** Renders a frame the way Asterisk writes it: `Key: value` lines, CRLF, blank line. */
export function renderFrame(fields: AmiFields): string {
  return `${fields.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
}

/** Parses one frame; keys as sent (case kept), values trimmed of the separator. */
export function parseFrame(raw: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of raw.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return fields;
}

interface Session {
  socket: Socket;
  authenticated: boolean;
  events: boolean;
  buffer: string;
  /** A hung Asterisk or a link that died without closing: nothing read, nothing written. */
  silent?: boolean;
}

/** Answers one action: the response fields plus any events that follow it (list actions). */
export type ActionHandler = (action: Map<string, string>, actionId: string | undefined) => { response: AmiFields; events?: AmiFields[]; close?: boolean };

/**
 * An AMI server over TCP: banner, Login, Events, per-connection event mask,
 * and the actions the fake PBX implements. Frames in and out are recorded.
 */
export function createAmiServer(options: { user: string; secret: string; onAction: ActionHandler }) {
  const sessions = new Set<Session>();
  const frames: Array<{ dir: 'in' | 'out'; raw: string }> = [];
  let server: Server | null = null;
  let port = 0;

  const write = (session: Session, fields: AmiFields) => {
    if (session.silent) return;
    const raw = renderFrame(fields);
    frames.push({ dir: 'in', raw });
    if (!session.socket.destroyed) session.socket.write(raw);
  };

  function handle(session: Session, raw: string): void {
    if (session.silent) return;
    frames.push({ dir: 'out', raw });
    const action = parseFrame(raw);
    const name = (action.get('action') ?? '').toLowerCase();
    const id = action.get('actionid');
    const withId = (fields: AmiFields): AmiFields => {
      const [first, ...rest] = fields;
      return id === undefined ? fields : [first!, ['ActionID', id], ...rest];
    };
    if (name === 'login') {
      if (action.get('username') === options.user && action.get('secret') === options.secret) {
        session.authenticated = true;
        // Asterisk reads `Events`; a missing key means the user's read permissions apply (events on).
        const events = action.get('events');
        session.events = events === undefined || !/^off$/i.test(events);
        write(session, withId([['Response', 'Success'], ['Message', 'Authentication accepted']]));
        if (session.events) write(session, [['Event', 'FullyBooted'], ['Privilege', 'system,all'], ['Uptime', 6], ['LastReload', 6], ['Status', 'Fully Booted']]);
      } else {
        write(session, withId([['Response', 'Error'], ['Message', 'Authentication failed']]));
        session.socket.end();
      }
      return;
    }
    if (!session.authenticated) {
      write(session, withId([['Response', 'Error'], ['Message', 'Permission denied']]));
      return;
    }
    if (name === 'events') {
      session.events = !/^off$/i.test(action.get('eventmask') ?? 'on');
      write(session, withId([['Response', 'Success'], ['Events', session.events ? 'On' : 'Off']]));
      return;
    }
    if (name === 'logoff') {
      write(session, withId([['Response', 'Goodbye'], ['Message', 'Thanks for all the fish.']]));
      session.socket.end();
      return;
    }
    const answer = options.onAction(action, id);
    write(session, withId(answer.response));
    for (const event of answer.events ?? []) write(session, event);
  }

  function accept(socket: Socket): void {
    const session: Session = { socket, authenticated: false, events: false, buffer: '' };
    sessions.add(session);
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('close', () => sessions.delete(session));
    const banner = 'Asterisk Call Manager/11.0.0\r\n';
    frames.push({ dir: 'in', raw: banner });
    socket.write(banner);
    socket.on('data', (chunk: string) => {
      session.buffer += chunk;
      let end: number;
      while ((end = session.buffer.indexOf('\r\n\r\n')) >= 0) {
        const raw = session.buffer.slice(0, end + 4);
        session.buffer = session.buffer.slice(end + 4);
        handle(session, raw);
      }
    });
  }

  return {
    frames,
    port: () => port,
    /** Sends an event to every logged-in connection that wants events. */
    broadcast(fields: AmiFields): void {
      for (const session of sessions) if (session.authenticated && session.events) write(session, fields);
    },
    /** Sends bytes as they are — malformed frames, for the fuzz tests — to every logged-in connection. */
    broadcastRaw(raw: string | Buffer): void {
      for (const session of sessions) if (session.authenticated && !session.socket.destroyed) session.socket.write(raw);
    },
    connections: () => [...sessions].filter((s) => s.authenticated).length,
    /** The connections open now stop answering (and hear nothing) without closing; new ones are normal. */
    silence(): void {
      for (const session of sessions) session.silent = true;
    },
    async listen(): Promise<void> {
      server = createServer(accept);
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', () => resolve());
      });
      port = (server.address() as AddressInfo).port;
    },
    async close(): Promise<void> {
      for (const s of sessions) s.socket.destroy();
      sessions.clear();
      const s = server;
      server = null;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
