import type { AgentStore, ApiTokenStore, QueueStore, SessionStore, SettingsStore } from '../core/ports.js';
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
    /** `keep`: whether a value read may be kept (all by default). */
    async read<T>(key: string, load: () => Promise<T>, keep: (value: T) => boolean = () => true): Promise<T> {
      const now = feed.generation();
      if (now === null) return load();
      if (now !== generation) {
        kept.clear();
        generation = now;
      }
      if (kept.has(key)) {
        const value = structuredClone(kept.get(key)) as T;
        if (keep(value)) return value;
        kept.delete(key);
      }
      const value = await load();
      if (feed.generation() === now && generation === now && keep(value)) kept.set(key, structuredClone(value));
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
    /** After a write here that only this cache keeps a copy of: its own values dropped, the others' left be. */
    async wroteOwn<T>(write: Promise<T>): Promise<T> {
      try {
        return await write;
      } finally {
        kept.clear();
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

/**
 * A session or token kept while it is not near its end: ending one deletes its row, and deletions of
 * sessions and tokens are in the change feed (migration 024). An extension elsewhere (a session
 * slides on use) is an update the feed does not carry: a session kept until a minute before the end
 * it had when read is read again from then on, and so sees it. A hash not found is not kept (it may be
 * created in another process).
 */
const SURE_FOR_MS = 60_000;
const farFromEnd = (record: { expiresAt: string | null } | null): boolean => record !== null && (record.expiresAt === null || Date.parse(record.expiresAt) - Date.now() > SURE_FOR_MS);

export function cachedSessionStore(store: SessionStore, feed: ChangeFeed): SessionStore {
  const cache = createReadCache(feed);
  return {
    create: (hash, record, now) => store.create(hash, record, now),
    find: (hash) => cache.read(hash, () => store.find(hash), farFromEnd),
    // Sessions are nobody else's: a change here drops only what this cache keeps (agents, queues and
    // settings stay); other processes hear of deletions through the feed.
    touch: (hash, expiresAt) => cache.wroteOwn(store.touch(hash, expiresAt)),
    delete: (hash) => cache.wroteOwn(store.delete(hash)),
    deleteForAgent: (agentId) => cache.wroteOwn(store.deleteForAgent(agentId)),
    deleteExpired: (now) => cache.wroteOwn(store.deleteExpired(now)),
  };
}

export function cachedApiTokenStore(store: ApiTokenStore, feed: ChangeFeed): ApiTokenStore {
  const cache = createReadCache(feed);
  return {
    create: (agentId, input, now) => store.create(agentId, input, now),
    find: (hash) => cache.read(hash, () => store.find(hash), farFromEnd),
    // Its last use is read back to decide the next record of one: dropped with it (the token cache only).
    touch: (id, now) => cache.wroteOwn(store.touch(id, now)),
    list: (agentId) => store.list(agentId),
    delete: (id, agentId) => cache.wroteOwn(store.delete(id, agentId)),
  };
}
