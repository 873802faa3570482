import type { Generated } from 'kysely';
import type { Call } from '../core/types.js';

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
    voicemail_after_seconds: number | null;
    open_hours: string | null;
    holidays: string | null;
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
    route: Call['route'];
    target: string | null;
    queue_id: number | null;
    agents_rung: Generated<string>;
    answered_by: number | null;
    unverified: Generated<number>;
    outcome: Call['outcome'];
    started_at: string;
    ivr_done_at: string | null;
    answered_at: string | null;
    ended_at: string | null;
    reason: Call['reason'];
    language: string | null;
    direction: Generated<'in' | 'out'>;
    dialled_by: number | null;
    callee_number: string | null;
    instance: string | null;
    voicemail_article_id: number | null;
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
  pop_dismissals: { agent_id: number; call_id: number; dismissed_at: string | null };
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
  articles: {
    id: Generated<number>;
    ticket_id: number;
    kind: 'email-in' | 'email-out' | 'phone' | 'note' | 'call';
    from_addr: string | null;
    to_addr: string | null;
    subject: string | null;
    body_text: Generated<string>;
    body_html: string | null;
    message_id: string | null;
    in_reply_to: string | null;
    author_agent_id: number | null;
    created_at: string;
    references_header: string | null;
    delivery_status: string | null;
    raw_message_id: number | null;
    reply_to: string | null;
    cc_addr: string | null;
  };
  attachments: {
    id: Generated<number>;
    article_id: number;
    filename: string;
    content_type: string;
    size: number;
    sha256: string;
    content_id: string | null;
    content: Buffer;
  };
  ticket_history: {
    id: Generated<number>;
    ticket_id: number;
    at: string;
    via: string;
    agent_id: number | null;
    field: string;
    old_value: string | null;
    new_value: string | null;
    old_label: string | null;
    new_label: string | null;
  };
  ticket_counts: { queue_id: number; state: string; n: number };
  list_generation: { id: number; n: number };
  notices: {
    id: Generated<number>;
    agent_id: number;
    kind: 'assigned' | 'customer-reply' | 'new-ticket' | 'reminder';
    ticket_id: number | null;
    text: string;
    created_at: string;
    seen_at: string | null;
    mail_wanted: Generated<number>;
    mailed_at: string | null;
  };
  canned_answers: { id: Generated<number>; queue_id: number | null; name: string; body: string; created_at: string; updated_at: string };
  draft_attachments: {
    id: Generated<number>;
    agent_id: number;
    ticket_id: number;
    filename: string;
    content_type: string;
    size: number;
    content: Buffer;
    created_at: string;
  };
  raw_messages: {
    id: Generated<number>;
    source: string;
    envelope_from: string | null;
    envelope_to: Generated<string>;
    message_id: string | null;
    sha256: string;
    size: number;
    status: Generated<'new' | 'done' | 'failed' | 'duplicate'>;
    outcome: string | null;
    error: string | null;
    ticket_id: number | null;
    received_at: string;
    processed_at: string | null;
    content_key: string | null;
  };
  raw_message_contents: { id: number; raw: Buffer };
  outbox: {
    id: Generated<number>;
    article_id: number | null;
    kind: 'auto-reply' | 'agent-reply' | 'notice';
    envelope_from: string;
    envelope_to: string;
    message_id: string;
    raw: Buffer;
    status: Generated<'pending' | 'sent' | 'failed'>;
    attempts: Generated<number>;
    next_attempt_at: string;
    last_error: string | null;
    created_at: string;
    sent_at: string | null;
    claimed_by: string | null;
    claimed_until: string | null;
  };
}
