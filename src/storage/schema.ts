import type { Generated } from 'kysely';

/**
 * The tables as queries see them, alike on both engines (see migrations/ and
 * migrations/postgres/): times are ISO 8601 UTC text, booleans 0/1, JSON text, lease times ms.
 * `Generated` columns may be left out of an insert (an id, a default).
 */
export interface Schema {
  agents: {
    id: Generated<number>;
    login: string;
    name: string;
    email: string | null;
    password_hash: string;
    role: Generated<'agent' | 'admin'>;
    dial_string: string | null;
    device_interface: string | null;
    language: Generated<string>;
    active: Generated<number>;
    away: Generated<number>;
    created_at: string;
    notify_by_email: Generated<number>;
    calls_seen_until: string | null;
    time_zone: string | null;
  };
  queues: {
    id: Generated<number>;
    name: string;
    email: string | null;
    dial_target: string | null;
    asterisk_queue: string | null;
    is_default: Generated<number>;
    created_at: string;
    reopen_policy: Generated<'reopen' | 'new-ticket'>;
    auto_reply: string | null;
    signature: string | null;
  };
  queue_permissions: { agent_id: number; queue_id: number; access: 'ro' | 'rw' };
  queue_watchers: { agent_id: number; queue_id: number };
  customers: { id: Generated<number>; name: string; language: string | null; created_at: string };
  customer_emails: { customer_id: number; email: string };
  customer_phones: { customer_id: number; phone: string };
  calls: {
    id: Generated<number>;
    channel_id: string;
    linked_id: string | null;
    caller_number: string | null;
    caller_name: string | null;
    digits: Generated<string>;
    ticket_id: number | null;
    route: string | null;
    target: string | null;
    queue_id: number | null;
    agents_rung: Generated<string>;
    answered_by: number | null;
    unverified: Generated<number>;
    outcome: string | null;
    started_at: string;
    ivr_done_at: string | null;
    answered_at: string | null;
    ended_at: string | null;
    reason: string | null;
    language: string | null;
    direction: Generated<'in' | 'out'>;
    dialled_by: number | null;
    callee_number: string | null;
    instance: string | null;
  };
  call_seen: { agent_id: number; call_id: number };
  settings: { key: string; value: string };
  ttn_counters: { key: string; value: number };
  sessions: { token_hash: string; agent_id: number; csrf_token: string; created_at: string; expires_at: string };
  api_tokens: {
    id: Generated<number>;
    agent_id: number;
    name: string;
    token_hash: string;
    created_at: string;
    last_used_at: string | null;
    scope: Generated<'rw' | 'ro'>;
    expires_at: string | null;
  };
  saved_filters: { id: Generated<number>; agent_id: number; name: string; query: string; created_at: string };
  text_overrides: { lang: string; key: string; text: string; updated_at: string };
  leases: { name: string; holder: string; expires_at: number };
  pop_dismissals: { agent_id: number; call_id: number };
  login_failures: { key: string; failures: number; not_before: number; last_at: number };
  tickets: {
    id: Generated<number>;
    ttn: string;
    title: string;
    queue_id: number;
    state: Generated<'new' | 'open' | 'pending' | 'closed'>;
    priority: Generated<number>;
    owner_id: number | null;
    customer_id: number | null;
    created_at: string;
    updated_at: string;
    closed_at: string | null;
    linked_ticket_id: number | null;
    pending_until: string | null;
  };
}
