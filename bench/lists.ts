// The agents' pages at 100,000 tickets (issue #17): one `hotline serve` over a helpdesk of 10 queues,
// 50 agents, 20,000 customers and 100,000 tickets (15 % open, each with its customer's mail), and
// the pages an agent works with, each asked for one after the other as a browser would, with
// nothing served from memory (every list is read again from the database: another connection marks
// the data changed before each request). `npm run bench:lists` runs this part alone and puts its
// section into RESULTS.md; `npm run bench` runs it with the others.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pino from 'pino';
import type { createHotline as CreateHotline } from '../src/app.js';
import type { loadConfig as LoadConfig } from '../src/config.js';
import { tempDir } from '../test/helpers/hotline.js';
import { listeningOn } from './ivr-pops.js';

const TICKETS = Number(process.env.BENCH_LIST_TICKETS ?? 100_000);
const SAMPLES = Number(process.env.BENCH_LIST_SAMPLES ?? 20);
const ROOT = process.env.BENCH_HOTLINE_ROOT ?? fileURLToPath(new URL('..', import.meta.url));

export interface PageTiming {
  page: string;
  what: string;
  p50: number;
  p95: number;
  max: number;
  /** What the page said of the list, e.g. "Tickets 1–50 of 15,041". */
  note: string;
}

export interface ListsResult {
  tickets: number;
  open: number;
  seedSeconds: number;
  pages: PageTiming[];
}

const commit = () => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
  } catch {
    return 'unknown';
  }
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** A deterministic sequence in [0, 1). */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** Writes the helpdesk straight into the database (what would take hours through the API). */
async function seed(dir: string, env: Record<string, string>) {
  const createHotline = ((await import(`${ROOT}/dist/app.js`)) as { createHotline: typeof CreateHotline }).createHotline;
  const loadConfig = ((await import(`${ROOT}/dist/config.js`)) as { loadConfig: typeof LoadConfig }).loadConfig;
  const hotline = await createHotline(loadConfig({ env, cwd: dir }), { log: pino({ level: 'silent' }) });
  const db = hotline.db;
  const random = prng(17);
  const queues: number[] = [];
  for (let q = 0; q < 10; q++) queues.push((await hotline.directory.createQueue({ name: `Queue ${q}`, isDefault: q === 0 })).id);
  const agentRow = db.prepare("INSERT INTO agents (login, name, password_hash, created_at) VALUES (?, ?, 'none', '2025-01-01T00:00:00.000Z') RETURNING id").pluck();
  const permission = db.prepare("INSERT INTO queue_permissions (agent_id, queue_id, access) VALUES (?, ?, 'rw')");
  const agents: number[] = [];
  db.transaction(() => {
    for (let a = 0; a < 50; a++) {
      const id = agentRow.all(`agent${a}`, `Agent ${String(a).padStart(2, '0')}`)[0] as number;
      agents.push(id);
      // Each agent sees 3 or 4 of the 10 queues.
      for (let q = 0; q < 10; q++) if ((a + q) % 3 === 0) permission.run(id, queues[q]);
    }
  })();
  const customerRow = db.prepare("INSERT INTO customers (name, created_at) VALUES (?, '2025-01-01T00:00:00.000Z') RETURNING id").pluck();
  const email = db.prepare('INSERT INTO customer_emails (customer_id, email) VALUES (?, ?)');
  const customers: number[] = [];
  db.transaction(() => {
    for (let c = 0; c < 20_000; c++) {
      const id = customerRow.all(`Kunde ${c}`)[0] as number;
      customers.push(id);
      email.run(id, `kunde${c}@example.org`);
    }
  })();
  const ticket = db.prepare('INSERT INTO tickets (ttn, title, queue_id, state, priority, owner_id, customer_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id').pluck();
  const article = db.prepare("INSERT INTO articles (ticket_id, kind, from_addr, subject, body_text, created_at) VALUES (?, 'email-in', ?, ?, ?, ?)");
  const words = ['printer', 'invoice', 'modem', 'password', 'scanner', 'network', 'laptop', 'phone', 'license', 'backup'];
  const start = Date.UTC(2024, 0, 1);
  db.transaction(() => {
    for (let i = 0; i < TICKETS; i++) {
      const created = new Date(start + i * 5 * 60_000);
      const updated = new Date(created.getTime() + Math.floor(random() * 30 * 86_400_000));
      const state = random() < 0.85 ? 'closed' : (['new', 'open', 'pending'] as const)[Math.floor(random() * 3)]!;
      const word = words[Math.floor(random() * words.length)]!;
      const customer = Math.floor(random() * 20_000);
      const id = ticket.all(`${8_000_000_000_000 + i}`, `${word} problem ${i}`, queues[i % 10], state, 1 + Math.floor(random() * 5), random() < 0.3 ? null : agents[Math.floor(random() * 50)], customers[customer], created.toISOString(), updated.toISOString())[0] as number;
      article.run(id, `kunde${customer}@example.org`, `${word} problem`, `Hello, my ${word} does not work since ${created.toISOString().slice(0, 10)}. Ticket body ${i}, with a few more words as mail has.`, created.toISOString());
    }
  })();
  db.exec('ANALYZE');
  // An admin (every queue) and an agent of three queues, logged in.
  await hotline.agents.create({ login: 'root', name: 'Root', role: 'admin', password: 'bench-password' });
  const admin = (await hotline.auth.login('root', 'bench-password', '127.0.0.1'))!.token;
  await hotline.agents.create({ login: 'worker', name: 'Worker', role: 'agent', password: 'bench-password' });
  const worker = (await hotline.agents.findByLogin('worker'))!;
  for (const q of [queues[0]!, queues[3]!, queues[6]!]) await hotline.directory.setAccess(worker.id, q, 'rw');
  const agent = (await hotline.auth.login('worker', 'bench-password', '127.0.0.1'))!.token;
  const open = db.prepare("SELECT count(*) FROM tickets WHERE state <> 'closed'").pluck().get() as number;
  const sample = db.prepare("SELECT ttn FROM tickets WHERE queue_id = ? AND state <> 'closed' ORDER BY id DESC LIMIT 1").pluck().get(queues[0]) as string;
  const bulk = db.prepare("SELECT ttn FROM tickets WHERE queue_id = ? AND state = 'open' ORDER BY id LIMIT 50").pluck().all(queues[3]) as string[];
  hotline.close();
  return { admin, agent, open, sample, bulk, queue: queues[3]! };
}

async function serve(env: Record<string, string>): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [`${ROOT}/bin/hotline.js`, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, base: (await listeningOn(child)).base };
}

export async function listsBench(): Promise<ListsResult> {
  const { dir, cleanup } = tempDir('hotline-bench-lists-');
  const env = {
    HOTLINE_DATA_DIR: dir,
    HOTLINE_HTTP_PORT: '0',
    HOTLINE_SMTP_ENABLED: 'false',
    // No PBX: the pages are measured (the service only says it is degraded).
    HOTLINE_ARI_URL: 'http://127.0.0.1:1',
    HOTLINE_AMI_PORT: '1',
    HOTLINE_LOG_LEVEL: 'warn',
  };
  const seededAt = performance.now();
  const data = await seed(dir, env);
  const seedSeconds = (performance.now() - seededAt) / 1000;
  console.log(`seeded ${TICKETS} tickets (${data.open} open) in ${seedSeconds.toFixed(1)} s`);
  const { child, base } = await serve(env);
  // Another connection to the same file marks the lists changed, so that no page is served from memory.
  const other = new Database(`${dir}/hotline.db`);
  other.pragma('busy_timeout = 5000');
  const bump = other.prepare('UPDATE list_generation SET n = n + 1 WHERE id = 1');
  const pages: PageTiming[] = [];
  try {
    const get = async (token: string, path: string) => {
      bump.run();
      const t0 = performance.now();
      const res = await fetch(`${base}${path}`, { headers: { cookie: `hotline_session=${token}` }, redirect: 'manual' });
      const body = await res.text();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
      return { ms, body };
    };
    const measure = async (what: string, token: string, path: string | (() => Promise<string>)) => {
      const times: number[] = [];
      let note = '';
      // One first, not counted: what was compiled and cached at the first use of a query is not the page's time.
      for (let i = 0; i <= SAMPLES; i++) {
        const p = typeof path === 'string' ? path : await path();
        const { ms, body } = await get(token, p);
        if (i > 0) times.push(ms);
        note = /<p class="list-count" role="status">([^<]*)</.exec(body)?.[1] ?? '';
      }
      const label = typeof path === 'string' ? path : '(see "what")';
      pages.push({ page: label, what, p50: pct(times, 50), p95: pct(times, 95), max: Math.max(...times), note });
      console.log(`${what}: p50 ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms — ${note}`);
    };
    const a = data.agent;
    const r = data.admin;
    await measure('list, the default (open ones of my 3 queues, newest first)', a, '/tickets');
    await measure('list, every queue (admin)', r, '/tickets');
    await measure('list, every state (admin, 100,000)', r, '/tickets?state=all');
    for (const sort of ['created', 'ttn', 'priority', 'state', 'owner']) {
      await measure(`list by ${sort}, highest/newest first`, a, `/tickets?sort=${sort}&dir=desc`);
      await measure(`list by ${sort}, every state (admin)`, r, `/tickets?state=all&sort=${sort}&dir=asc`);
    }
    await measure('last page, every state (admin)', r, '/tickets?state=all&before=end');
    await measure('last page by owner, every state (admin)', r, '/tickets?state=all&sort=owner&before=end');
    // Twenty pages in: the link the list itself gives.
    let deep = '/tickets?state=all';
    for (let i = 0; i < 20; i++) {
      const { body } = await get(r, deep);
      deep = /<a href="([^"]+)" rel="next">/.exec(body)![1]!.replaceAll('&amp;', '&');
    }
    await measure('page 21 by following Next (admin, every state)', r, deep);
    await measure('my tickets', a, '/tickets?owner=me');
    await measure('tickets nobody owns', a, '/tickets?owner=none');
    await measure('priority 5, every state', a, '/tickets?priority=5&state=all');
    await measure('search: a word in titles and mail', a, '/tickets?q=printer');
    await measure('search: a customer', a, '/tickets?q=Kunde%20123');
    await measure('search: the start of a TTN', a, '/tickets?q=800000000');
    await measure('a ticket (articles, history, reply form)', a, `/tickets/${data.sample}`);
    await measure('queues overview', a, '/queues');
    await measure('customers (admin), first page of 20,000', r, '/admin/customers');
    await measure('customers (admin), page 300', r, '/admin/customers?page=300');
    await measure('API, 50 by priority', a, '/api/v1/tickets?limit=50&sort=priority&state=open-ones');
    // Bulk: the same 50 tickets to pending and back, each a form post as the page sends it.
    const page = await get(a, `/tickets?queue=${data.queue}&state=open`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const times: number[] = [];
    for (let i = 0; i <= SAMPLES; i++) {
      const form = new URLSearchParams({ _csrf: csrf, state: i % 2 ? 'open' : 'pending' });
      for (const ttn of data.bulk) form.append('ttn', ttn);
      const t0 = performance.now();
      const res = await fetch(`${base}/tickets/bulk`, { method: 'POST', headers: { cookie: `hotline_session=${a}` }, body: form });
      const body = await res.text();
      if (i > 0) times.push(performance.now() - t0);
      if (!body.includes('50 tickets changed')) throw new Error(`bulk: ${body.slice(0, 300)}`);
    }
    pages.push({ page: 'POST /tickets/bulk', what: 'bulk change of 50 tickets (each checked and written with its history)', p50: pct(times, 50), p95: pct(times, 95), max: Math.max(...times), note: '' });
    console.log(`bulk: p50 ${pct(times, 50).toFixed(1)} ms`);
  } finally {
    other.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    cleanup();
  }
  return { tickets: TICKETS, open: data.open, seedSeconds, pages };
}

/** The section for RESULTS.md. */
export function listsSection(r: ListsResult): string[] {
  return [
    '## Agents\' pages at 100,000 tickets',
    '',
    `One \`hotline serve\` over ${r.tickets.toLocaleString('en')} tickets (${r.open.toLocaleString('en')} of them open) in 10 queues, 50 agents, 20,000 customers, one`,
    'customer mail per ticket. "My" pages are an agent\'s who sees 3 of the 10 queues; "admin", every queue. Each page is asked',
    `for ${SAMPLES} times, one after the other, with nothing served from memory (another connection marks the lists changed`,
    'before each request), through HTTP as a browser does; times in ms from the request to the last byte.',
    '',
    '| page | what | p50 | p95 | max | the page said |',
    '| --- | --- | --- | --- | --- | --- |',
    ...r.pages.map((p) => `| \`${p.page.replace(/\|/g, '%7C')}\` | ${p.what} | ${p.p50.toFixed(1)} | ${p.p95.toFixed(1)} | ${p.max.toFixed(1)} | ${p.note} |`),
    '',
    `This run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit()}; seeding took ${r.seedSeconds.toFixed(0)} s.`,
  ];
}

const START = '<!-- lists -->';
const END = '<!-- /lists -->';

/** RESULTS.md with this part's section replaced (or added before the targets). */
export function spliceLists(results: string, section: string[]): string {
  const block = `${START}\n${section.join('\n')}\n${END}`;
  const at = results.indexOf(START);
  if (at >= 0) return results.slice(0, at) + block + results.slice(results.indexOf(END) + END.length);
  const targets = results.indexOf('\n## Targets');
  return targets >= 0 ? `${results.slice(0, targets)}\n${block}\n${results.slice(targets)}` : `${results}\n${block}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = new URL('./RESULTS.md', import.meta.url);
  const section = listsSection(await listsBench());
  writeFileSync(file, spliceLists(readFileSync(file, 'utf8'), section));
  console.log(section.join('\n'));
  process.exit(0);
}
