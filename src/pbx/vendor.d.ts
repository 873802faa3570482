// Minimal typings for the parts of ari-client and asterisk-manager Hotline uses; both ship none.

declare module 'ari-client' {
  import type { EventEmitter } from 'node:events';

  /** Operations are generated from Asterisk's swagger files at connect time. */
  type Operation = (params?: Record<string, unknown>) => PromiseLike<unknown>;
  interface AriClient extends EventEmitter {
    channels: Record<string, Operation>;
    playbacks: Record<string, Operation>;
    applications: Record<string, Operation>;
    asterisk: Record<string, Operation>;
    start(apps: string | string[]): PromiseLike<void>;
    stop(): void;
    /** Internal: the current websocket, replaced on every reconnect. */
    _ws?: EventEmitter & { close(): void; terminate?(): void };
  }
  const ari: { connect(url: string, user: string, password: string): PromiseLike<AriClient> };
  export type { AriClient };
  export default ari;
}

declare module 'asterisk-manager' {
  import type { EventEmitter } from 'node:events';

  interface Manager extends EventEmitter {
    connect(port: number, host: string, callback?: (error: unknown) => void): void;
    login(callback: (error: unknown) => void): void;
    action(action: Record<string, unknown>, callback?: (error: unknown, response: Record<string, string>) => void): string;
    disconnect(): void;
    isConnected(): boolean;
  }
  function AsteriskManager(port: number | null, host: string, username: string, password: string, events: boolean): Manager;
  export type { Manager };
  export default AsteriskManager;
}
