import { sql } from 'kysely';
import type { CustomerStore } from '../core/ports.js';
import type { Customer } from '../core/types.js';
import type { Sql } from './engine.js';
import { contains, likePattern } from './engine.js';

interface CustomerRow {
  id: number;
  name: string;
  language: string | null;
  created_at: string;
}

/** {@link CustomerStore} on either engine; e-mails and phone numbers live in their own tables. */
export function createCustomerRepository(db: Sql): CustomerStore {
  const { q } = db;
  // E-mails in the order they were added (the first is the customer's main address).
  const added = db.dialect === 'sqlite' ? sql`rowid` : sql`id`;
  const hydrate = async (row: CustomerRow | undefined, on: Sql = db): Promise<Customer | null> =>
    row
      ? {
          id: row.id,
          name: row.name,
          language: row.language,
          emails: (await on.all(q.selectFrom('customer_emails').select('email').where('customer_id', '=', row.id).orderBy(added))).map((r) => r.email),
          phones: (await on.all(q.selectFrom('customer_phones').select('phone').where('customer_id', '=', row.id).orderBy('phone'))).map((r) => r.phone),
          createdAt: row.created_at,
        }
      : null;
  const byId = (id: number, on: Sql = db) => on.first(q.selectFrom('customers').selectAll().where('id', '=', id));
  const addPhone = (on: Sql, id: number, phone: string) => on.run(q.insertInto('customer_phones').values({ customer_id: id, phone }).onConflict((c) => c.doNothing()));
  // Name, e-mail or phone containing the text; all customers for an empty one.
  const matches = (text: string) => {
    const like = likePattern(text);
    return like === '%%'
      ? sql<boolean>`1 = 1`
      : sql<boolean>`(${contains(db, sql`c.name`, like)}
         OR c.id IN (SELECT customer_id FROM customer_emails WHERE ${contains(db, sql`email`, like)})
         OR c.id IN (SELECT customer_id FROM customer_phones WHERE ${contains(db, sql`phone`, like)}))`;
  };

  return {
    visibleTo: async (customerId, agentId) =>
      (
        await db.first(
          sql<{ visible: number }>`SELECT (EXISTS (SELECT 1 FROM agents WHERE id = ${agentId} AND role = 'admin')
            OR EXISTS (SELECT 1 FROM tickets t JOIN queue_permissions p ON p.queue_id = t.queue_id AND p.agent_id = ${agentId} WHERE t.customer_id = ${customerId})) AS visible`,
        )
      )?.visible === 1,
    create: (c, now) =>
      db.transaction(async (tx) => {
        const [row] = await tx.all(q.insertInto('customers').values({ name: c.name, language: c.language ?? null, created_at: now }).returningAll());
        for (const email of c.emails ?? []) await tx.run(q.insertInto('customer_emails').values({ customer_id: row!.id, email }));
        for (const phone of c.phones ?? []) await addPhone(tx, row!.id, phone);
        return (await hydrate(row, tx))!;
      }),
    findById: async (id) => hydrate(await byId(id)),
    async findByEmail(email) {
      const row = await db.first(q.selectFrom('customer_emails').select('customer_id').where('email', '=', email));
      return row ? hydrate(await byId(row.customer_id)) : null;
    },
    async findByPhone(phone) {
      const rows = await db.all(q.selectFrom('customer_phones').select('customer_id').where('phone', '=', phone).orderBy('customer_id'));
      return Promise.all(rows.map(async (r) => (await hydrate(await byId(r.customer_id)))!));
    },
    async addEmail(id, email) {
      await db.run(q.insertInto('customer_emails').values({ customer_id: id, email }));
    },
    async addPhone(id, phone) {
      await addPhone(db, id, phone);
    },
    async setLanguage(id, language) {
      await db.run(q.updateTable('customers').set({ language }).where('id', '=', id));
    },
    async search(text, limit, offset = 0) {
      const rows = await db.all(sql<CustomerRow>`SELECT c.* FROM customers c WHERE ${matches(text)} ORDER BY c.name, c.id LIMIT ${limit} OFFSET ${offset}`);
      return Promise.all(rows.map(async (r) => (await hydrate(r))!));
    },
    count: async (text) => (await db.first(sql<{ n: number }>`SELECT count(*) AS n FROM customers c WHERE ${matches(text)}`))!.n,
  };
}
