/** A listener that could not start (port taken, address not on this machine…), in words naming the setting. */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(what: string, settings: string, host: string, port: number, cause: NodeJS.ErrnoException) {
    const why =
      cause.code === 'EADDRINUSE'
        ? 'the port is already in use (is another Hotline running?)'
        : cause.code === 'EADDRNOTAVAIL'
          ? 'that address is not on this machine'
          : cause.code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : cause.message;
    super(`cannot start ${what} on ${host}:${port}: ${why}; choose another with ${settings}`);
  }
}
