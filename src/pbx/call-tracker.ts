import type { AgentService } from '../core/agent-service.js';
import type { CallService } from '../core/call-service.js';
import type { Logger } from '../logger.js';
import type { AmiMessage } from './ami.js';
import type { Presence } from './presence.js';
import { agentForChannel } from './presence.js';

interface Tracked {
  callId: number;
  /** Dialled channel's Uniqueid → agent, to tell whose DialEnd it is. */
  dialled: Map<string, number>;
  /** Dialled legs whose DialEnd was handled: Asterisk sends a losing queue member's CANCEL twice. */
  ended: Set<string>;
  /** Events for this call run one after another (AMI events arrive faster than storage answers). */
  chain: Promise<void>;
}

/**
 * Follows a call after the IVR handed it to the dialplan, by joining AMI
 * events to it (ARI channel id = AMI `Uniqueid`): who is rung, who answers, when it ends.
 */
export function createCallTracker(deps: { calls: CallService; agents: AgentService; presence: Presence; log: Logger }) {
  const { calls, agents, presence, log } = deps;
  const tracked = new Map<string, Tracked>();
  // Every ring and answer is matched against all agents' dial strings: read them at most once a second.
  let agentList: { at: number; list: ReturnType<AgentService['list']> } | undefined;
  const allAgents = () => {
    const now = Date.now();
    if (!agentList || now - agentList.at > 1000) agentList = { at: now, list: agents.list() };
    return agentList.list;
  };

  async function handle(t: Tracked, e: AmiMessage, uniqueid: string): Promise<void> {
    const name = e.event?.toLowerCase();
    switch (name) {
      case 'dialbegin': {
        // A queue's DialBegin follows its AgentCalled for the same leg: one ring, reported once.
        if (e.destuniqueid && t.dialled.has(e.destuniqueid)) return;
        const agent = agentForChannel(e.destchannel ?? '', await allAgents());
        if (!agent) return;
        if (e.destuniqueid) t.dialled.set(e.destuniqueid, agent.id);
        await calls.ringing(t.callId, agent.id);
        return;
      }
      case 'dialend': {
        if (e.destuniqueid) {
          if (t.ended.has(e.destuniqueid)) return;
          t.ended.add(e.destuniqueid);
        }
        const agentId = (e.destuniqueid ? t.dialled.get(e.destuniqueid) : undefined) ?? agentForChannel(e.destchannel ?? '', await allAgents())?.id;
        if (agentId === undefined) return;
        if (e.dialstatus === 'ANSWER') await calls.answered(t.callId, agentId);
        else await calls.missed(t.callId, agentId, e.dialstatus ?? 'UNKNOWN');
        return;
      }
      case 'agentcalled': {
        const agent = presence.agentForInterface(e.interface ?? '', await allAgents());
        if (!agent) return;
        if (e.destuniqueid) t.dialled.set(e.destuniqueid, agent.id);
        await calls.ringing(t.callId, agent.id);
        return;
      }
      case 'agentconnect': {
        const agent = presence.agentForInterface(e.interface ?? '', await allAgents());
        if (agent) await calls.answered(t.callId, agent.id);
        return;
      }
      case 'agentringnoanswer': {
        const agent = presence.agentForInterface(e.interface ?? '', await allAgents());
        if (agent) await calls.missed(t.callId, agent.id, 'NOANSWER');
        return;
      }
      case 'hangup':
        tracked.delete(uniqueid);
        await calls.ended(t.callId);
        return;
    }
  }

  return {
    /** Starts following a call the IVR handed back to the dialplan. */
    track(channelId: string, callId: number): void {
      tracked.set(channelId, { callId, dialled: new Map(), ended: new Set(), chain: Promise.resolve() });
    },
    /** Feeds one AMI event. */
    handle(e: AmiMessage): void {
      const uniqueid = e.uniqueid;
      const t = uniqueid ? tracked.get(uniqueid) : undefined;
      if (!t || !uniqueid) return;
      t.chain = t.chain.then(() => handle(t, e, uniqueid)).catch((error) => log.error({ err: error, event: e.event }, 'call tracking failed'));
    },
    trackedCalls: () => tracked.size,
    isTracked: (channelId: string) => tracked.has(channelId),
    /** Stops following a channel (it ended while its Hangup could not be seen). */
    forget(channelId: string): void {
      tracked.delete(channelId);
    },
  };
}

export type CallTracker = ReturnType<typeof createCallTracker>;
