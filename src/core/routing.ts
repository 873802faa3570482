import type { Agent, Queue } from './types.js';

/** Where the dialplan sends a call. */
export interface RouteDecision {
  /** `agent`: ring the owner, then the queue; `queue`: the queue directly; `voicemail`: the queue is closed, the caller may leave a message. */
  route: 'agent' | 'queue' | 'voicemail';
  /** Set for `agent`: the owner's dial string, e.g. `PJSIP/201`. */
  agentTarget: string | null;
  agentId: number | null;
  /** The Hotline queue whose Asterisk queue / extension takes the call (after the owner, for `agent`). */
  queue: Queue | null;
  /** Why this route: shown on the call record. */
  why: 'owner-available' | 'owner-unavailable' | 'no-owner' | 'queue-unmapped' | 'default';
}

/** Availability of an agent's phone, as seen on AMI. */
export interface PhonePresence {
  /**
   * Asterisk device state (`NOT_INUSE`, `INUSE`, `UNAVAILABLE`, …); undefined when Asterisk does not
   * report this device (its DeviceStateList leaves out `Local/` channels, for one).
   */
  deviceState: string | undefined;
  /** Paused as a queue member. */
  paused: boolean;
}

/** A queue has somewhere for the dialplan to send a call. */
export function queueIsRoutable(queue: Queue | null | undefined): queue is Queue {
  return !!queue && !!(queue.asteriskQueue || queue.dialTarget);
}

/**
 * The routing rule: the owner's phone when the owner is active, not away, the
 * phone idle (NOT_INUSE, or a device Asterisk reports no state for) and not paused;
 * otherwise the ticket's queue through the queue → extension map; otherwise the default queue.
 * `presence` null means AMI is away: nothing is known, so the queue takes the call.
 */
export function decideRoute(input: {
  owner: Agent | null;
  presence: PhonePresence | null;
  ticketQueue: Queue | null;
  defaultQueue: Queue | null;
}): RouteDecision {
  const { owner, presence, ticketQueue, defaultQueue } = input;
  const queue = queueIsRoutable(ticketQueue) ? ticketQueue : queueIsRoutable(defaultQueue) ? defaultQueue : null;
  const ownerAvailable =
    !!owner &&
    owner.active &&
    !owner.away &&
    !!owner.dialString &&
    !!presence &&
    // An untracked device is rung: a busy or silent phone makes the dialplan go on to the queue.
    (presence.deviceState === 'NOT_INUSE' || presence.deviceState === undefined) &&
    !presence.paused;
  if (ownerAvailable) {
    return { route: 'agent', agentTarget: owner.dialString, agentId: owner.id, queue, why: 'owner-available' };
  }
  const why = !owner ? 'no-owner' : 'owner-unavailable';
  return { route: 'queue', agentTarget: null, agentId: null, queue, why: queue === ticketQueue ? why : 'queue-unmapped' };
}
