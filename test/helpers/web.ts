import type { LightMyRequestResponse } from 'fastify';
import { buildServer } from '../../src/http/server.js';
import { testHotline } from './hotline.js';
import type { ConfigInput } from '../../src/config.js';
import type { Clock } from '../../src/core/ticket-service.js';
import { injectLogin, sessionCookie } from './login.js';

/**
 * Hotline's HTTP server over a fresh database, seeded: queues Support and Billing; alice (rw on
 * Support), bob (ro on Billing), carol (no queue), admin; a ticket in each queue.
 */
export async function webHarness(options: { templatesDir?: string; config?: ConfigInput; clock?: Clock } = {}) {
  const hotline = await testHotline({ config: options.config, clock: options.clock });
  const support = await hotline.directory.createQueue({ name: 'Support', asteriskQueue: 'support', isDefault: true });
  const billing = await hotline.directory.createQueue({ name: 'Billing', asteriskQueue: 'billing' });
  const make = async (login: string, role: 'agent' | 'admin' = 'agent') =>
    (await hotline.agents.create({ login, name: login[0]!.toUpperCase() + login.slice(1), role, password: `${login}-password`, email: `${login}@hotline.example` })).agent;
  const alice = await make('alice');
  const bob = await make('bob');
  const carol = await make('carol');
  const admin = await make('root', 'admin');
  await hotline.directory.setAccess(alice.id, support.id, 'rw');
  await hotline.directory.setAccess(bob.id, billing.id, 'ro');
  const customer = await hotline.directory.createCustomer({ name: 'Carl Customer', emails: ['carl@example.org'], phones: ['+49 171 2345678'] });
  const supportTicket = (await hotline.tickets.create({ queueId: support.id, title: 'Printer on fire', customerId: customer.id, article: { kind: 'email-in', from: 'carl@example.org', subject: 'Printer on fire', text: 'It smokes.' } })).ticket;
  const billingTicket = (await hotline.tickets.create({ queueId: billing.id, title: 'Invoice wrong', article: { kind: 'email-in', from: 'dora@example.org', text: 'Twice charged.' } })).ticket;
  const server = await buildServer(hotline, { templatesDir: options.templatesDir });

  /** Logs in through the form; returns the cookie and the page's CSRF token. */
  async function login(login: string, password = `${login}-password`) {
    const res = await injectLogin(server, login, password);
    if (res.statusCode !== 303) throw new Error(`login ${login} failed: ${res.statusCode} ${res.body.slice(0, 200)}`);
    const cookie = sessionCookie(res.headers['set-cookie'] as string[]);
    const page = await server.inject({ method: 'GET', url: '/queues', headers: { cookie } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (!csrf) throw new Error('no CSRF token on the page');
    return {
      cookie,
      csrf,
      get: (url: string): Promise<LightMyRequestResponse> => server.inject({ method: 'GET', url, headers: { cookie } }),
      post: (url: string, payload: Record<string, string> = {}, withCsrf = true): Promise<LightMyRequestResponse> =>
        server.inject({ method: 'POST', url, headers: { cookie }, payload: withCsrf ? { _csrf: csrf, ...payload } : payload }),
    };
  }

  return {
    hotline,
    server,
    queues: { support, billing },
    agents: { alice, bob, carol, admin },
    customer,
    tickets: { support: supportTicket, billing: billingTicket },
    login,
    async close() {
      await server.close();
      hotline.dispose();
    },
  };
}

export type WebHarness = Awaited<ReturnType<typeof webHarness>>;

/** A redirect's target without its scheme and host (Hotline names the whole address; tests compare the path). */
export const pathOf = (location: unknown): string => String(location ?? '').replace(/^https?:\/\/[^/]+/, '');
