import type { Database } from 'better-sqlite3';
import type { CustomerStore, NewCustomer } from '../core/ports.js';
import type { Customer } from '../core/types.js';

interface CustomerRow {
  id: number;
  name: string;
  language: string | null;
  created_at: string;
}

const likeOf = (text: string) => `%${text.trim().replace(/[%_\\]/g, '\\$&')}%`;

/** SQLite implementation of {@link CustomerStore}; e-mails and phone numbers live in their own tables. */
export function createCustomerRepository(db: Database): CustomerStore {
  const insert = db.prepare('INSERT INTO customers (name, language, created_at) VALUES (?, ?, ?) RETURNING *');
  const setLanguage = db.prepare('UPDATE customers SET language = ? WHERE id = ?');
  const insertEmail = db.prepare('INSERT INTO customer_emails (customer_id, email) VALUES (?, ?)');
  const insertPhone = db.prepare('INSERT OR IGNORE INTO customer_phones (customer_id, phone) VALUES (?, ?)');
  const byId = db.prepare('SELECT * FROM customers WHERE id = ?');
  const visible = db
    .prepare(
      `SELECT EXISTS (SELECT 1 FROM agents WHERE id = @agentId AND role = 'admin')
           OR EXISTS (SELECT 1 FROM tickets t JOIN queue_permissions p ON p.queue_id = t.queue_id AND p.agent_id = @agentId WHERE t.customer_id = @customerId)`,
    )
    .pluck();
  const emailsOf = db.prepare('SELECT email FROM customer_emails WHERE customer_id = ? ORDER BY rowid').pluck();
  const phonesOf = db.prepare('SELECT phone FROM customer_phones WHERE customer_id = ? ORDER BY phone').pluck();
  const idByEmail = db.prepare('SELECT customer_id FROM customer_emails WHERE email = ?').pluck();
  // Name, e-mail or phone containing the text; all customers for an empty one.
  const MATCHES = `@like = '%%' OR c.name LIKE @like ESCAPE '\\'
       OR c.id IN (SELECT customer_id FROM customer_emails WHERE email LIKE @like ESCAPE '\\')
       OR c.id IN (SELECT customer_id FROM customer_phones WHERE phone LIKE @like ESCAPE '\\')`;
  const search = db.prepare(`SELECT c.* FROM customers c WHERE ${MATCHES} ORDER BY c.name, c.id LIMIT @limit OFFSET @offset`);
  const count = db.prepare(`SELECT count(*) FROM customers c WHERE ${MATCHES}`).pluck();
  const idsByPhone = db.prepare('SELECT customer_id FROM customer_phones WHERE phone = ? ORDER BY customer_id').pluck();

  const hydrate = (row: CustomerRow | undefined): Customer | null =>
    row
      ? {
          id: row.id,
          name: row.name,
          language: row.language,
          emails: emailsOf.all(row.id) as string[],
          phones: phonesOf.all(row.id) as string[],
          createdAt: row.created_at,
        }
      : null;

  const create = db.transaction((c: NewCustomer, now: string) => {
    const row = insert.all(c.name, c.language ?? null, now)[0] as CustomerRow;
    for (const e of c.emails ?? []) insertEmail.run(row.id, e);
    for (const p of c.phones ?? []) insertPhone.run(row.id, p);
    return hydrate(row)!;
  });

  return {
    visibleTo: async (customerId, agentId) => visible.get({ customerId, agentId }) === 1,
    async create(c, now) {
      return create.immediate(c, now);
    },
    findById: async (id) => hydrate(byId.get(id) as CustomerRow | undefined),
    async findByEmail(email) {
      const id = idByEmail.get(email) as number | undefined;
      return id === undefined ? null : hydrate(byId.get(id) as CustomerRow | undefined);
    },
    async findByPhone(phone) {
      return (idsByPhone.all(phone) as number[]).map((id) => hydrate(byId.get(id) as CustomerRow)!);
    },
    async addEmail(id, email) {
      insertEmail.run(id, email);
    },
    async addPhone(id, phone) {
      insertPhone.run(id, phone);
    },
    async setLanguage(id, language) {
      setLanguage.run(language, id);
    },
    async search(text, limit, offset = 0) {
      return (search.all({ like: likeOf(text), limit, offset }) as CustomerRow[]).map((r) => hydrate(r)!);
    },
    async count(text) {
      return count.get({ like: likeOf(text) }) as number;
    },
  };
}
