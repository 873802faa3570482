import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import type { CustomerStore, NewCustomer, NewQueue, QueueStore } from './ports.js';
import { normalisePhone } from './phone.js';
import type { EventBus } from './events.js';
import type { Clock } from './ticket-service.js';
import type { Access, Customer, Queue } from './types.js';

const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;

/** Queues, permissions and customers. */
export function createDirectoryService(deps: { queues: QueueStore; customers: CustomerStore; clock: Clock; countryCode: string; events?: EventBus }) {
  const { queues, customers, clock, countryCode } = deps;
  const phone = (raw: string): string => {
    const n = normalisePhone(raw, countryCode);
    if (!n) throw new ValidationError(`"${raw}" is not a phone number`);
    return n;
  };
  const email = (raw: string): string => {
    const e = raw.trim().toLowerCase();
    if (!EMAIL.test(e)) throw new ValidationError(`"${raw}" is not an e-mail address`);
    return e;
  };

  const service = {
    normalisePhone: (raw: string | null | undefined) => normalisePhone(raw, countryCode),

    async createQueue(input: NewQueue): Promise<Queue> {
      const name = input.name.trim();
      if (!name) throw new ValidationError('a queue needs a name');
      if (await queues.findByName(name)) throw new ConflictError(`queue "${name}" exists`);
      const address = input.email ? email(input.email) : null;
      if (address && (await queues.findByEmail(address))) throw new ConflictError(`another queue has the address ${address}`);
      // The first queue becomes the default, so calls and mail always have somewhere to go.
      const isDefault = input.isDefault === true || (await queues.findDefault()) === null;
      return queues.create({ ...input, name, email: address, isDefault }, clock.now().toISOString());
    },
    async updateQueue(id: number, change: Partial<NewQueue>): Promise<Queue> {
      if (!(await queues.findById(id))) throw new NotFoundError(`no queue with id ${id}`);
      if (change.isDefault === false) throw new ValidationError('make another queue the default instead');
      const name = change.name?.trim();
      if (change.name !== undefined && !name) throw new ValidationError('a queue needs a name');
      const taken = name ? await queues.findByName(name) : null;
      if (taken && taken.id !== id) throw new ConflictError(`queue "${name}" exists`);
      const address = change.email ? email(change.email) : change.email;
      const other = address ? await queues.findByEmail(address) : null;
      if (other && other.id !== id) throw new ConflictError(`another queue has the address ${address}`);
      return queues.update(id, { ...change, ...(name !== undefined ? { name } : {}), email: address });
    },
    findQueue: (id: number) => queues.findById(id),
    findQueueByName: (name: string) => queues.findByName(name),
    findQueueByEmail: (address: string) => queues.findByEmail(address.trim().toLowerCase()),
    defaultQueue: () => queues.findDefault(),
    listQueues: () => queues.list(),
    visibleQueues: (agentId: number) => queues.visible(agentId),
    access: (agentId: number, queueId: number) => queues.access(agentId, queueId),
    /** Active agents who may see at least one of these queues, by name. */
    agentsSeeing: (queueIds: number[]) => queues.agentsSeeing(queueIds),
    async setAccess(agentId: number, queueId: number, access: Access | null): Promise<void> {
      const before = await queues.access(agentId, queueId);
      await queues.setAccess(agentId, queueId, access);
      if (before !== access) deps.events?.publish('access.changed', { agentId });
    },

    async createCustomer(input: NewCustomer): Promise<Customer> {
      if (!input.name.trim()) throw new ValidationError('a customer needs a name');
      const emails = (input.emails ?? []).map(email);
      for (const e of emails) if (await customers.findByEmail(e)) throw new ConflictError(`${e} belongs to another customer`);
      return customers.create({ ...input, emails, phones: (input.phones ?? []).map(phone) }, clock.now().toISOString());
    },
    findCustomer: (id: number) => customers.findById(id),
    /** Admins see every customer; an agent those with a ticket in a queue the agent may see. */
    customerVisibleTo: (customerId: number, agentId: number) => customers.visibleTo(customerId, agentId),
    /** The customers of `list` the agent may see. */
    async visibleCustomers<C extends { id: number }>(list: readonly C[], agentId: number): Promise<C[]> {
      const out: C[] = [];
      for (const c of list) if (await customers.visibleTo(c.id, agentId)) out.push(c);
      return out;
    },
    /**
     * The customer an agent's new ticket is for: the one chosen by id (which the agent must be able
     * to see: else, as for an unknown id, ValidationError), or the one with this e-mail address or
     * number when the agent may see them, or a new one; null when nothing is given, or when the
     * address or number belongs to a customer of other queues (the ticket then names only what was entered).
     */
    async customerForTicket(agentId: number, input: { customerId: number | null; name?: string; email?: string; phone?: string }): Promise<number | null> {
      if (input.customerId !== null) {
        const found = await customers.findById(input.customerId);
        if (!found || !(await customers.visibleTo(found.id, agentId))) throw new ValidationError(`customerId: no customer ${input.customerId}`);
        return found.id;
      }
      const { email, phone } = input;
      if (!email && !phone && !input.name?.trim()) return null;
      const existing = (email && (await customers.findByEmail(email.trim().toLowerCase()))) || (phone && (await service.findCustomersByPhone(phone))[0]) || null;
      if (existing) return (await customers.visibleTo(existing.id, agentId)) ? existing.id : null;
      return (await service.createCustomer({ name: input.name?.trim() || email || phone || '', emails: email ? [email] : [], phones: phone ? [phone] : [] })).id;
    },
    /**
     * The customer with this e-mail address or phone number, or a new one with them (named `name`,
     * else by the address or number); null when nothing is given.
     */
    async findOrCreateCustomer(input: { name?: string; email?: string; phone?: string; language?: string | null }): Promise<Customer | null> {
      const { email, phone } = input;
      if (!email && !phone && !input.name?.trim()) return null;
      const existing = (email && (await customers.findByEmail(email.trim().toLowerCase()))) || (phone && (await service.findCustomersByPhone(phone))[0]) || null;
      if (existing) return existing;
      return service.createCustomer({ name: input.name?.trim() || email || phone || '', language: input.language ?? null, emails: email ? [email] : [], phones: phone ? [phone] : [] });
    },
    findCustomerByEmail: (address: string) => customers.findByEmail(address.trim().toLowerCase()),
    /** Customers on file for a caller number in any format; none for anonymous or unparseable numbers. */
    async findCustomersByPhone(raw: string | null | undefined): Promise<Customer[]> {
      const n = normalisePhone(raw, countryCode);
      return n ? customers.findByPhone(n) : [];
    },
    addCustomerPhone: (id: number, raw: string) => customers.addPhone(id, phone(raw)),
    /** The language auto-replies to the customer are written in; null: the language of each mail. */
    setCustomerLanguage: (id: number, language: string | null) => customers.setLanguage(id, language),
    /** Customers matching a name, e-mail or phone fragment (a phone in any format is normalised first). */
    async searchCustomers(text: string, limit = 50, offset = 0): Promise<Customer[]> {
      return customers.search(customerSearchText(text), limit, offset);
    },
    /** How many customers match (see searchCustomers). */
    countCustomers: (text: string): Promise<number> => customers.count(customerSearchText(text)),
    addCustomerEmail: (id: number, raw: string) => customers.addEmail(id, email(raw)),
  };
  return service;

  function customerSearchText(text: string): string {
    return (/\d{3,}/.test(text) ? normalisePhone(text, countryCode) : null) ?? text;
  }
}

export type DirectoryService = ReturnType<typeof createDirectoryService>;
