import type { Database } from 'better-sqlite3';
import type { ApiTokenRecord, ApiTokenStore, SessionRecord, SessionStore } from '../core/ports.js';

/** SQLite implementation of {@link SessionStore}. */
export function createSessionRepository(db: Database): SessionStore {
  const insert = db.prepare('INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)');
  const find = db.prepare('SELECT agent_id AS agentId, csrf_token AS csrfToken, expires_at AS expiresAt FROM sessions WHERE token_hash = ?');
  const touch = db.prepare('UPDATE sessions SET expires_at = ? WHERE token_hash = ?');
  const remove = db.prepare('DELETE FROM sessions WHERE token_hash = ?');
  const removeForAgent = db.prepare('DELETE FROM sessions WHERE agent_id = ?');
  const removeExpired = db.prepare('DELETE FROM sessions WHERE expires_at < ?');
  return {
    async create(hash, r, now) {
      insert.run(hash, r.agentId, r.csrfToken, now, r.expiresAt);
    },
    find: async (hash) => (find.get(hash) as SessionRecord | undefined) ?? null,
    async touch(hash, expiresAt) {
      touch.run(expiresAt, hash);
    },
    async delete(hash) {
      remove.run(hash);
    },
    async deleteForAgent(agentId) {
      removeForAgent.run(agentId);
    },
    async deleteExpired(now) {
      removeExpired.run(now);
    },
  };
}

/** SQLite implementation of {@link ApiTokenStore}. */
export function createApiTokenRepository(db: Database): ApiTokenStore {
  const insert = db.prepare('INSERT INTO api_tokens (agent_id, name, token_hash, scope, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id');
  const find = db.prepare('SELECT id, agent_id AS agentId, scope, expires_at AS expiresAt, last_used_at AS lastUsedAt FROM api_tokens WHERE token_hash = ?');
  const touch = db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?');
  const list = db.prepare('SELECT id, name, scope, created_at AS createdAt, last_used_at AS lastUsedAt, expires_at AS expiresAt FROM api_tokens WHERE agent_id = ? ORDER BY id');
  const remove = db.prepare('DELETE FROM api_tokens WHERE id = ? AND agent_id = ?');
  return {
    create: async (agentId, t, now) => insert.all(agentId, t.name, t.tokenHash, t.scope, t.expiresAt, now)[0] as { id: number },
    find: async (hash) => (find.get(hash) as Awaited<ReturnType<ApiTokenStore['find']>> | undefined) ?? null,
    async touch(id, now) {
      touch.run(now, id);
    },
    list: async (agentId) => list.all(agentId) as ApiTokenRecord[],
    async delete(id, agentId) {
      remove.run(id, agentId);
    },
  };
}
