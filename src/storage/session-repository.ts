import type { ApiTokenStore, SessionStore } from '../core/ports.js';
import type { Sql } from './engine.js';
import { param, prepared } from './engine.js';

/** {@link SessionStore} on either engine. */
export function createSessionRepository(db: Sql): SessionStore {
  const { q } = db;
  return {
    async create(hash, r, now) {
      await db.run(q.insertInto('sessions').values({ token_hash: hash, agent_id: r.agentId, csrf_token: r.csrfToken, created_at: now, expires_at: r.expiresAt }));
    },
    find: async (hash) =>
      (await db.first(q.selectFrom('sessions').select(['agent_id as agentId', 'csrf_token as csrfToken', 'expires_at as expiresAt']).where('token_hash', '=', hash))) ?? null,
    async touch(hash, expiresAt) {
      await db.run(q.updateTable('sessions').set({ expires_at: expiresAt }).where('token_hash', '=', hash));
    },
    async delete(hash) {
      await db.run(q.deleteFrom('sessions').where('token_hash', '=', hash));
    },
    async deleteForAgent(agentId) {
      await db.run(q.deleteFrom('sessions').where('agent_id', '=', agentId));
    },
    async deleteExpired(now) {
      await db.run(q.deleteFrom('sessions').where('expires_at', '<', now));
    },
  };
}

/** {@link ApiTokenStore} on either engine. */
export function createApiTokenRepository(db: Sql): ApiTokenStore {
  const { q } = db;
  // Asked for each page socket's pops: built once.
  const byHash = prepared<NonNullable<Awaited<ReturnType<ApiTokenStore['find']>>>, { hash: string }>(db, () =>
    q.selectFrom('api_tokens').select(['id', 'agent_id as agentId', 'scope', 'expires_at as expiresAt', 'last_used_at as lastUsedAt']).where('token_hash', '=', param('hash')),
  );
  return {
    create: async (agentId, t, now) =>
      (await db.all(q.insertInto('api_tokens').values({ agent_id: agentId, name: t.name, token_hash: t.tokenHash, scope: t.scope, expires_at: t.expiresAt, created_at: now }).returning('id')))[0]!,
    find: async (hash) => (await db.first(byHash({ hash }))) ?? null,
    async touch(id, now) {
      await db.run(q.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id));
    },
    list: async (agentId) =>
      db.all(q.selectFrom('api_tokens').select(['id', 'name', 'scope', 'created_at as createdAt', 'last_used_at as lastUsedAt', 'expires_at as expiresAt']).where('agent_id', '=', agentId).orderBy('id')),
    async delete(id, agentId) {
      await db.run(q.deleteFrom('api_tokens').where('id', '=', id).where('agent_id', '=', agentId));
    },
  };
}
