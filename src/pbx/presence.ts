import type { PhonePresence } from '../core/routing.js';
import type { Agent } from '../core/types.js';
import type { AmiMessage } from './ami.js';

/** A queue member as AMI reports it (`QueueMember`, `QueueMemberAdded`…). */
interface Member {
  location: string;
  stateInterface: string | null;
  name: string;
  paused: boolean;
}

/** `Local/203@phones/n` → `Local/203@phones`: queue members often carry the `/n` flag. */
export function baseInterface(iface: string): string {
  return iface.replace(/\/n$/i, '');
}

/**
 * Device states and queue members from AMI: who is free, who is paused, and
 * which agent a queue member or dialled channel is.
 */
export function createPresence() {
  const deviceStates = new Map<string, string>();
  const members = new Map<string, Member>();
  let known = false;

  const memberFrom = (e: AmiMessage): Member => ({
    location: baseInterface(e.location ?? e.interface ?? ''),
    stateInterface: e.stateinterface || null,
    name: e.name ?? e.membername ?? '',
    paused: e.paused === '1',
  });

  return {
    /** Forget everything (AMI reconnected: the lists are loaded again). */
    reset(): void {
      deviceStates.clear();
      members.clear();
      known = false;
    },
    /** Marks the initial lists as loaded. */
    loaded(): void {
      known = true;
    },
    /** Feeds one AMI event (device state or queue member); others are ignored. */
    apply(e: AmiMessage): void {
      switch (e.event?.toLowerCase()) {
        case 'devicestatechange':
          if (e.device) deviceStates.set(e.device, e.state ?? 'UNKNOWN');
          break;
        case 'queuemember':
        case 'queuememberadded':
        case 'queuememberstatus': {
          const m = memberFrom(e);
          if (m.location) members.set(m.location, { ...members.get(m.location), ...m });
          break;
        }
        case 'queuememberpause': {
          const location = baseInterface(e.interface ?? e.location ?? '');
          const m = members.get(location);
          if (m) m.paused = e.paused === '1';
          else if (location) members.set(location, { location, stateInterface: null, name: e.membername ?? '', paused: e.paused === '1' });
          break;
        }
        case 'queuememberremoved':
          members.delete(baseInterface(e.location ?? e.interface ?? ''));
          break;
      }
    },
    /** The agent's phone as AMI sees it; undefined state while AMI has not reported it. */
    presenceOf(agent: Agent): PhonePresence | null {
      if (!known) return null;
      const device = agent.deviceInterface ?? agent.dialString;
      const paused = [...members.values()].some((m) => m.paused && ((agent.dialString && m.location === agent.dialString) || (device && m.stateInterface === device)));
      return { deviceState: device ? deviceStates.get(device) : undefined, paused };
    },
    /** The agent a queue member interface stands for (by dial string or its state interface). */
    agentForInterface(iface: string, agents: readonly Agent[]): Agent | undefined {
      const location = baseInterface(iface);
      const stateInterface = members.get(location)?.stateInterface;
      return agents.find((a) => (a.dialString && baseInterface(a.dialString) === location) || (stateInterface && a.deviceInterface === stateInterface));
    },
    deviceState: (device: string) => deviceStates.get(device),
  };
}

export type Presence = ReturnType<typeof createPresence>;

/** The agent whose phone a dialled channel (`PJSIP/201-0000002a`, `Local/201@phones-00000001;1`) belongs to. */
export function agentForChannel(channel: string, agents: readonly Agent[]): Agent | undefined {
  return agents.find((a) => a.dialString && channel.startsWith(`${baseInterface(a.dialString)}-`));
}
