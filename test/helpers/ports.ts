import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';

/** A free TCP port on loopback (the kernel's pick), for a server a test starts that cannot take port 0. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TCP port that refuses to talk: it accepts and closes at once. Point ARI/AMI settings here
 * for a service that must not find any Asterisk (never a default port someone else may use);
 * `connections()` says whether anything tried.
 */
export async function deadPort(): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.address() as AddressInfo).port, connections: () => connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
