import type { AgentStore, QueueStore, SettingsStore } from '../core/ports.js';
import type { ChangeFeed } from './change-feed.js';

/**
 * Reads kept in memory for as long as the change feed's generation stands (see change-feed.ts): on
 * PostgreSQL a call's agents, queues, permissions and settings cost a round trip each, a dozen a call
 * (the larger part of the call path's CPU there, bench/RESULTS.md). A read that was under way when
 * the generation moved is not kept. Callers get copies: nothing they change reaches the kept value.
 */
export function createReadCache(feed: ChangeFeed) {
  let generation: number | null = null;
  const kept = new Map<string, unknown>();
  return {
    async read<T>(key: string, load: () => Promise<T>): Promise<T> {
      const now = feed.generation();
      if (now === null) return load();
      if (now !== generation) {
        kept.clear();
        generation = now;
      }
      if (kept.has(key)) return structuredClone(kept.get(key)) as T;
      const value = await load();
      if (feed.generation() === now && generation === now) kept.set(key, structuredClone(value));
      return value;
    },
    /** After a write here: dropped now, without waiting for the database's notification. */
    async wrote<T>(write: Promise<T>): Promise<T> {
      try {
        return await write;
      } finally {
        feed.bump();
      }
    },
  };
}

export function cachedAgentStore(store: AgentStore, feed: ChangeFeed): AgentStore {
  const cache = createReadCache(feed);
  return {
    create: (agent, now) => cache.wrote(store.create(agent, now)),
    findById: (id) => cache.read(`id:${id}`, () => store.findById(id)),
    findByLogin: (login) => cache.read(`login:${login.toLowerCase()}`, () => store.findByLogin(login)),
    // Not kept: asked for at a login only, and better not lying about in memory.
    passwordHash: (id) => store.passwordHash(id),
    list: () => cache.read('list', () => store.list()),
    update: (id, change) => cache.wrote(store.update(id, change)),
    countAdmins: () => cache.read('admins', () => store.countAdmins()),
  };
}

export function cachedQueueStore(store: QueueStore, feed: ChangeFeed): QueueStore {
  const cache = createReadCache(feed);
  return {
    create: (queue, now) => cache.wrote(store.create(queue, now)),
    findById: (id) => cache.read(`id:${id}`, () => store.findById(id)),
    findByName: (name) => cache.read(`name:${name.toLowerCase()}`, () => store.findByName(name)),
    findByEmail: (email) => cache.read(`email:${email.toLowerCase()}`, () => store.findByEmail(email)),
    findDefault: () => cache.read('default', () => store.findDefault()),
    list: () => cache.read('list', () => store.list()),
    update: (id, change) => cache.wrote(store.update(id, change)),
    access: (agentId, queueId) => cache.read(`access:${agentId}:${queueId}`, () => store.access(agentId, queueId)),
    setAccess: (agentId, queueId, access) => cache.wrote(store.setAccess(agentId, queueId, access)),
    visible: (agentId) => cache.read(`visible:${agentId}`, () => store.visible(agentId)),
    agentsSeeing: (queueIds) => cache.read(`seeing:${[...queueIds].sort((a, b) => a - b).join(',')}`, () => store.agentsSeeing(queueIds)),
  };
}

export function cachedSettingsStore(store: SettingsStore, feed: ChangeFeed): SettingsStore {
  const cache = createReadCache(feed);
  return {
    get: <T>(key: string) => cache.read<T | undefined>(key, () => store.get<T>(key)),
    set: (key, value) => cache.wrote(store.set(key, value)),
  };
}
