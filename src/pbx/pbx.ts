import type { Hotline } from '../app.js';
import type { Logger } from '../logger.js';
import type { AmiConnection, AmiMessage } from './ami.js';
import { AmiActionError, connectAmi } from './ami.js';
import type { AriConnection } from './ari.js';
import { connectAri } from './ari.js';
import { createCallTracker } from './call-tracker.js';
import type { IvrSettings } from './ivr-driver.js';
import { createIvrDriver } from './ivr-driver.js';
import { createPresence } from './presence.js';
import { withTimeout } from './with-timeout.js';

/** Asterisk's OriginateResponse reasons, in words. */
const ORIGINATE_REASONS: Record<string, string> = {
  '0': 'the phone is unavailable (reason 0)',
  '1': 'the phone hung up (reason 1)',
  '3': 'the phone was not answered (reason 3)',
  '5': 'the phone is busy (reason 5)',
  '8': 'the line is congested (reason 8)',
};

/** Where Asterisk is and how the IVR behaves. */
export interface PbxOptions {
  ariUrl: string;
  ariUser: string;
  ariPassword: string;
  ariApp: string;
  amiHost: string;
  amiPort: number;
  amiUser: string;
  amiSecret: string;
  ivr: IvrSettings;
  /** Deadline for each ARI request / AMI action. */
  requestTimeoutMs?: number;
  /** Longest pause between reconnect attempts. */
  maxBackoffMs?: number;
}

export interface OriginateRequest {
  /** What to ring first, e.g. the agent's `PJSIP/201`. */
  channel: string;
  context: string;
  exten: string;
  priority?: number;
  callerId?: string;
  variables?: Record<string, string>;
  /** Milliseconds to wait for the first leg to answer. */
  timeoutMs?: number;
}

/**
 * The Asterisk bridge: ARI runs the IVR, AMI reports device states and what
 * happens to calls after the IVR. Both reconnect forever; neither can stop the process.
 */
export function startPbx(hotline: Hotline, options: PbxOptions, log: Logger = hotline.log) {
  const presence = createPresence();
  const calls = hotline.calls;
  const tracker = createCallTracker({ calls, agents: hotline.agents, presence, log });
  let ari!: AriConnection;
  let ami!: AmiConnection;
  // Actions answered later by an event (Originate → OriginateResponse), by ActionID.
  const waiters = new Map<string, (event: AmiMessage) => void>();
  let originates = 0;

  const driver = createIvrDriver({
    ari: () => ari,
    tickets: hotline.tickets,
    calls,
    agents: hotline.agents,
    directory: hotline.directory,
    ttn: hotline.ttn,
    presence,
    settings: options.ivr,
    log,
    onHandoff: (channelId, callId) => tracker.track(channelId, callId),
  });

  ari = connectAri({
    url: options.ariUrl,
    user: options.ariUser,
    password: options.ariPassword,
    app: options.ariApp,
    log,
    requestTimeoutMs: options.requestTimeoutMs,
    maxBackoffMs: options.maxBackoffMs,
    onEvent: (event) => driver.handle(event),
    onConnected: () => {
      driver.recover().catch((error) => log.error({ err: error }, 'ARI channel recovery failed'));
    },
  });

  async function loadPresence(): Promise<void> {
    presence.reset();
    const [devices, queues] = await Promise.all([
      ami.listAction({ action: 'DeviceStateList' }, 'DeviceStateListComplete').catch((error: Error) => {
        log.warn({ err: error.message }, 'AMI DeviceStateList failed; owner availability unknown until device states arrive');
        return [] as AmiMessage[];
      }),
      ami.listAction({ action: 'QueueStatus' }, 'QueueStatusComplete').catch((error: Error) => {
        log.warn({ err: error.message }, 'AMI QueueStatus failed');
        return [] as AmiMessage[];
      }),
    ]);
    for (const e of [...devices, ...queues]) presence.apply(e);
    presence.loaded();
  }

  ami = connectAmi({
    host: options.amiHost,
    port: options.amiPort,
    user: options.amiUser,
    secret: options.amiSecret,
    log,
    actionTimeoutMs: options.requestTimeoutMs,
    maxBackoffMs: options.maxBackoffMs,
    onEvent: (event) => {
      if (event.actionid && event.event?.toLowerCase() === 'originateresponse') waiters.get(event.actionid)?.(event);
      presence.apply(event);
      tracker.handle(event);
    },
    onConnected: () => {
      loadPresence().catch((error) => log.error({ err: error }, 'loading device states failed'));
    },
  });

  return {
    presence,
    status: () => ({ ari: ari.state(), ami: ami.state(), activeIvrCalls: driver.activeCalls(), trackedCalls: tracker.trackedCalls() }),
    /**
     * Rings `channel` and, once answered, connects it to `context,exten` (click-to-dial).
     * Resolves once Asterisk has accepted the request (rejects at once, with a clear message,
     * when AMI is down or Asterisk refuses); `result` settles when the first leg answers or fails.
     */
    async originate(request: OriginateRequest): Promise<{ result: Promise<AmiMessage> }> {
      const timeout = request.timeoutMs ?? 30_000;
      const variables = Object.entries(request.variables ?? {}).map(([k, v]) => `${k}=${v}`);
      const actionid = `hotline-originate-${++originates}`;
      const answer = new Promise<AmiMessage>((resolve) => waiters.set(actionid, resolve));
      try {
        await ami.action({
          action: 'Originate',
          actionid,
          channel: request.channel,
          context: request.context,
          exten: request.exten,
          priority: request.priority ?? 1,
          timeout,
          ...(request.callerId ? { callerid: request.callerId } : {}),
          ...(variables.length ? { variable: variables.join(',') } : {}),
          async: 'true',
        });
      } catch (error) {
        waiters.delete(actionid);
        throw error;
      }
      const result = withTimeout(answer, timeout + 5000, 'AMI Originate')
        .then((response) => {
          if (response.response?.toLowerCase() !== 'success') {
            throw new AmiActionError(`Asterisk could not place the call to ${request.channel}: ${ORIGINATE_REASONS[response.reason ?? ''] ?? `reason ${response.reason ?? 'unknown'}`}`);
          }
          return response;
        })
        .finally(() => waiters.delete(actionid));
      return { result };
    },
    async close(): Promise<void> {
      driver.stop();
      await Promise.all([ari.close(), ami.close()]);
    },
  };
}

export type Pbx = ReturnType<typeof startPbx>;
