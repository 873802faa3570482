import { parseArgs } from 'node:util';
import type { Hotline } from './app.js';
import type { FastifyInstance } from 'fastify';
import { createHotline } from './app.js';
import { ensureDefaultQueue } from './bootstrap.js';
import { buildApp } from './compose.js';
import type { Config } from './config.js';
import { ConfigError, loadConfig } from './config.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from './core/errors.js';
import type { Role } from './core/types.js';
import { startMail } from './mail/mail.js';

const USAGE = `Usage: hotline <command> [options]

Commands:
  serve                               start the service (HTTP on httpHost:httpPort)
  admin create [--login L] [--password P]   (without --login: admin, or admin2, admin3 … if taken)
  admin reset-password --login L [--password P]
                                      a new password (generated and shown once when omitted);
                                      the agent's sessions end
  agent add --login L --name N [--email E] [--role agent|admin] [--dial PJSIP/201]
            [--device PJSIP/201] [--language en] [--password P] [--queue NAME[:ro|rw]]...
  queue add --name N [--email E] [--extension TARGET] [--asterisk-queue Q] [--default]
  ticket create --title T [--queue NAME] [--text T] [--customer-email E] [--customer-phone P]
  ticket show <TTN>
  ticket owner <TTN> (--login L | --none)
                                      gives the ticket to an agent who may see its queue, or nobody
  ingest                              read one message on stdin (MTA pipe): exit 0 when stored,
                                      75 when it cannot be stored now (the MTA retries)
  copy-to-postgres <postgres://…>     copies the SQLite file (the \`database\` setting) into an empty
                                      PostgreSQL database, all or nothing; stop Hotline first

Every command takes --config FILE; settings also come from HOTLINE_* variables (see README).`;

/** A mistake in how the command was called: print usage, exit 2. */
class UsageError extends Error {}

type Out = { out: (line: string) => void; err: (line: string) => void };

/** Runs one CLI invocation; returns the exit code (serve resolves only on shutdown). */
export async function run(argv: string[], io: Out = { out: console.log, err: console.error }): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === '--help' || command === 'help') {
    io.out(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'ingest') return ingest([sub, ...rest].filter((a): a is string => a !== undefined), io);
  const args = command === 'serve' ? [sub, ...rest].filter((a): a is string => a !== undefined) : rest;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        login: { type: 'string' },
        name: { type: 'string' },
        email: { type: 'string' },
        role: { type: 'string' },
        dial: { type: 'string' },
        device: { type: 'string' },
        language: { type: 'string' },
        password: { type: 'string' },
        queue: { type: 'string', multiple: true },
        extension: { type: 'string' },
        'asterisk-queue': { type: 'string' },
        default: { type: 'boolean' },
        none: { type: 'boolean' },
        title: { type: 'string' },
        text: { type: 'string' },
        'customer-email': { type: 'string' },
        'customer-phone': { type: 'string' },
      },
    });
    const config = loadConfig({ file: values.config, overrides: command === 'serve' ? {} : { logLevel: 'warn' } });
    if (command === 'serve') return await serve(config, io);
    if (command === 'copy-to-postgres') return await copyToPostgres(config, sub, io);
    const hotline = await createHotline(config);
    try {
      const key = `${command} ${sub ?? ''}`.trim();
      const need = (name: keyof typeof values): string => {
        const v = values[name];
        if (typeof v !== 'string' || !v.trim()) throw new UsageError(`${key} needs --${name}`);
        return v;
      };
      switch (key) {
        case 'admin create': {
          // Without --login: "admin", or the first free "adminN" (the first start has made "admin" already).
          let login = values.login;
          for (let n = 1; !login; n++) if (!(await hotline.agents.findByLogin(n === 1 ? 'admin' : `admin${n}`))) login = n === 1 ? 'admin' : `admin${n}`;
          const { agent, password } = await hotline.agents.create({ login, name: 'Administrator', role: 'admin', password: values.password });
          io.out(`admin created: login ${agent.login}${values.password ? '' : `, password ${password} (shown once)`}`);
          return 0;
        }
        case 'admin reset-password': {
          const agent = await hotline.agents.findByLogin(need('login'));
          if (!agent) throw new NotFoundError(`no agent with login ${values.login}`);
          const { generatePassword } = await import('./core/password.js');
          const password = values.password ?? generatePassword();
          await hotline.agents.setPassword(agent.id, password);
          // Logged out everywhere; open pages lose their pops at the service's next check.
          await hotline.auth.endSessions(agent.id);
          io.out(`password of ${agent.login} changed${values.password ? '' : `: ${password} (shown once)`}; the agent's sessions have ended`);
          return 0;
        }
        case 'ticket owner': {
          const ttn = positionals[0];
          if (!ttn) throw new UsageError('ticket owner needs a TTN');
          if (!values.login === !values.none) throw new UsageError('ticket owner needs --login L or --none');
          const ticket = await hotline.tickets.findByTtn(ttn);
          if (!ticket) throw new NotFoundError(`no ticket ${ttn}`);
          const owner = values.login ? await hotline.agents.findByLogin(values.login) : null;
          if (values.login && !owner) throw new NotFoundError(`no agent with login ${values.login}`);
          // The same check as on the pages: an owner must be able to see the ticket's queue.
          await hotline.tickets.change(ticket.id, { ownerId: owner?.id ?? null }, 'system');
          io.out(`ticket ${ttn}: ${owner ? `owner ${owner.login}` : 'nobody owns it now'}`);
          return 0;
        }
        case 'agent add': {
          const queues = await resolveQueueGrants(hotline, values.queue ?? []);
          const { agent, password } = await hotline.agents.create({
            login: need('login'),
            name: need('name'),
            email: values.email,
            role: (values.role ?? 'agent') as Role,
            dialString: values.dial,
            deviceInterface: values.device,
            language: values.language,
            password: values.password,
          });
          for (const [queueId, access] of queues) await hotline.directory.setAccess(agent.id, queueId, access);
          io.out(`agent ${agent.login} created (id ${agent.id})${values.password ? '' : `, password ${password} (shown once)`}`);
          return 0;
        }
        case 'queue add': {
          const queue = await hotline.directory.createQueue({
            name: need('name'),
            email: values.email,
            dialTarget: values.extension,
            asteriskQueue: values['asterisk-queue'],
            isDefault: values.default,
          });
          io.out(`queue ${queue.name} created (id ${queue.id})${queue.isDefault ? ', default' : ''}`);
          return 0;
        }
        case 'ticket create':
          return await createTicket(hotline, { ...values, title: need('title') }, io);
        case 'ticket show': {
          const ttn = positionals[0];
          if (!ttn) throw new UsageError('ticket show needs a TTN');
          return await showTicket(hotline, ttn, io);
        }
        default:
          throw new UsageError(`unknown command "${key}"`);
      }
    } finally {
      // What follows a change (notices to the agents concerned) is written before the database closes.
      await hotline.events.idle();
      await hotline.close();
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`hotline: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConfigError || error instanceof ValidationError || error instanceof NotFoundError || error instanceof ConflictError || error instanceof ForbiddenError) {
      io.err(`hotline: ${error.message}`);
      return 1;
    }
    io.err(`hotline: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

async function resolveQueueGrants(hotline: Hotline, grants: string[]): Promise<Array<[number, 'ro' | 'rw']>> {
  const resolved: Array<[number, 'ro' | 'rw']> = [];
  for (const grant of grants) {
    const [name, access = 'rw'] = grant.split(':');
    if (access !== 'ro' && access !== 'rw') throw new UsageError(`--queue ${grant}: access must be ro or rw`);
    const queue = await hotline.directory.findQueueByName(name ?? '');
    if (!queue) throw new NotFoundError(`no queue named "${name}"`);
    resolved.push([queue.id, access]);
  }
  return resolved;
}

async function createTicket(hotline: Hotline, values: Record<string, unknown> & { title: string }, io: Out): Promise<number> {
  const queueName = (values.queue as string[] | undefined)?.[0];
  const queue = queueName ? await hotline.directory.findQueueByName(queueName) : await ensureDefaultQueue(hotline);
  if (!queue) throw new NotFoundError(`no queue named "${queueName}"`);
  const email = values['customer-email'] as string | undefined;
  const phone = values['customer-phone'] as string | undefined;
  const customerId = (await hotline.directory.findOrCreateCustomer({ email, phone }))?.id ?? null;
  const { ticket } = await hotline.tickets.create({
    queueId: queue.id,
    title: values.title,
    customerId,
    article: { kind: 'phone', text: typeof values.text === 'string' ? values.text : values.title, from: phone ?? email ?? null },
  });
  io.out(ticket.ttn);
  return 0;
}

async function showTicket(hotline: Hotline, ttn: string, io: Out): Promise<number> {
  if (!/^\d+$/.test(ttn)) throw new ValidationError(`"${ttn}" is not a ticket number (digits only)`);
  if (!hotline.ttn.checker().isValidTtn(ttn)) throw new ValidationError(`${ttn} is not a valid ticket number (wrong check digit — mistyped?)`);
  const { ticket, articles } = await hotline.tickets.getVisible(ttn, 'system');
  const queue = await hotline.directory.findQueue(ticket.queueId);
  const customer = ticket.customerId ? await hotline.directory.findCustomer(ticket.customerId) : null;
  const owner = ticket.ownerId ? await hotline.agents.findById(ticket.ownerId) : null;
  io.out(`Ticket#${ticket.ttn}  ${ticket.title}`);
  io.out(`  state ${ticket.state}, priority ${ticket.priority}, queue ${queue?.name ?? ticket.queueId}, owner ${owner?.login ?? '-'}`);
  io.out(`  customer ${customer ? `${customer.name} ${[...customer.emails, ...customer.phones].join(' ')}` : '-'}`);
  io.out(`  created ${ticket.createdAt}, updated ${ticket.updatedAt}`);
  for (const a of articles) {
    io.out(`  --- ${a.createdAt} ${a.kind}${a.from ? ` from ${a.from}` : ''}${a.subject ? `: ${a.subject}` : ''}`);
    for (const line of a.text.split('\n')) io.out(`  ${line}`);
  }
  return 0;
}

async function serve(config: Config, io: Out): Promise<number> {
  // Last resort: a promise some library leaves unhandled (socket.io's Redis adapter did, with Redis
  // away) must not end the service — callers in the IVR would wait for the dialplan's guard. It is
  // a bug all the same: logged as an error, to be fixed where it comes from.
  const unhandled = (reason: unknown) => (app ? app.hotline.log : console).error({ err: reason }, 'unhandled promise rejection (a bug): logged, the service goes on');
  let app: FastifyInstance | undefined;
  process.on('unhandledRejection', unhandled);
  // Everything `services` names (web, bridge, mail), each part started and stopped by its plugin (compose.ts).
  try {
    app = await buildApp(config);
  } catch (error) {
    process.off('unhandledRejection', unhandled);
    throw error;
  }
  const { hotline } = app;
  const roles = config.services.join(', ');
  if (app.webFront) io.out(`Hotline listening on ${app.webFront.url} (database ${hotline.database.where}; services ${roles})`);
  else io.out(`Hotline running without the web (services ${roles}; database ${hotline.database.where})`);
  if (config.services.includes('mail')) io.out(`Mail: ${app.mailChannel?.lastStatus()}`);
  if (app.firstAdmin) io.out(`First start: created admin login "${app.firstAdmin.login}" with password "${app.firstAdmin.password}" (shown once; change it after logging in)`);
  const running = app;
  return new Promise<number>((resolvePromise) => {
    const stop = (signal: string) => {
      hotline.log.info({ signal }, 'shutting down');
      running
        .close()
        .then(
          () => resolvePromise(0),
          () => resolvePromise(1),
        )
        .finally(() => process.off('unhandledRejection', unhandled));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** EX_TEMPFAIL (sysexits.h): the MTA keeps the message and tries again later. */
const EX_TEMPFAIL = 75;

/** `hotline copy-to-postgres URL`: the helpdesk moves from its SQLite file to PostgreSQL (then set `databaseUrl`). */
async function copyToPostgres(config: Config, url: string | undefined, io: Out): Promise<number> {
  if (!url || !/^postgres(ql)?:\/\//.test(url)) throw new UsageError('copy-to-postgres needs the target database, postgres://user:password@host/name');
  if (config.database === ':memory:') throw new UsageError('copy-to-postgres copies the SQLite file; the database setting is :memory:');
  const { copySqliteToPostgres } = await import('./storage/copy-to-postgres.js');
  io.out(`copying ${config.database} into ${url.replace(/\/\/[^@/]*@/, '//…@')} (rows a table):`);
  const report = await copySqliteToPostgres(config.database, url, (line) => io.out(`  ${line}`));
  io.out(`copied ${report.tables.reduce((n, t) => n + t.rows, 0)} rows in ${report.tables.length} tables; start Hotline with databaseUrl=<that database> (HOTLINE_DATABASE_URL)`);
  return 0;
}

/** `hotline ingest`: one message from an MTA pipe. Exit 0 once stored (even if it cannot be parsed: it is kept and flagged). */
async function ingest(args: string[], io: Out): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  if (raw.length === 0) {
    io.err('hotline ingest: no message on standard input');
    return 1;
  }
  let hotline: Hotline;
  try {
    const configFile = args[args.indexOf('--config') + 1];
    hotline = await createHotline(loadConfig({ file: args.includes('--config') ? configFile : undefined, overrides: { logLevel: 'warn' } }));
  } catch (error) {
    io.err(`hotline ingest: storage unavailable, try again later: ${(error as Error).message}`);
    return error instanceof ConfigError ? 1 : EX_TEMPFAIL;
  }
  try {
    const mail = await startMail(hotline, hotline.config, { listen: false });
    let stored: { id: number; duplicate: boolean };
    try {
      stored = await mail.pipeline.store(raw, { source: 'pipe', from: process.env.SENDER ?? null, to: process.env.RECIPIENT ? [process.env.RECIPIENT] : [] });
    } catch (error) {
      io.err(`hotline ingest: cannot store the message now, try again later: ${(error as Error).message}`);
      return EX_TEMPFAIL;
    }
    if (await mail.pipeline.toFile(stored)) {
      const outcome = await mail.pipeline.process(stored.id);
      // The owner's notice of this mail is written before the process ends (the service mails it, if asked to).
      await hotline.events.idle();
      await mail.outbox.flush();
      if (outcome === 'failed') io.err(`hotline ingest: stored as ${stored.id} but could not be filed; it is flagged for an admin`);
    }
    await mail.close();
    return 0;
  } finally {
    await hotline.close();
  }
}
