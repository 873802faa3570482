import { hostname } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import type { PromptName } from './core/ivr.js';

/** Asterisk core sounds used until the site's own prompts are installed. */
export const DEFAULT_PROMPTS = {
  'enter-ttn': 'sound:vm-enter-num-to-call',
  'invalid-ttn': 'sound:invalid',
  'unknown-ttn': 'sound:pbx-invalid',
  'new-ticket-number': 'sound:vm-num-i-have',
  'no-input': 'sound:pls-hold-while-try',
  'connecting-agent': 'sound:pls-hold-while-try',
  'connecting-queue': 'sound:pls-hold-while-try',
  operator: 'sound:transfer',
  goodbye: 'sound:vm-goodbye',
  'voicemail-closed': 'sound:vm-intro',
  'voicemail-no-answer': 'sound:vm-nobodyavail',
  'voicemail-thanks': 'sound:vm-msgsaved',
} as const satisfies Record<PromptName, string>;

/** The roles an instance can take (config `services`). */
export const SERVICES = ['web', 'bridge', 'mail'] as const;
export type Service = (typeof SERVICES)[number];

const port = z.coerce.number().int().min(0).max(65535);
const nonEmpty = z.string().trim().min(1);

/**
 * Every setting, with the embedded default that works with nothing set.
 * Each key can come from the config file or from `HOTLINE_<KEY>` (e.g. `dataDir` ← `HOTLINE_DATA_DIR`).
 */
const schema = z
  .object({
    /** Folder for the database, the outbox and uploaded prompts. */
    dataDir: nonEmpty.default('./data'),
    /** SQLite file; defaults to `<dataDir>/hotline.db`. */
    database: nonEmpty.optional(),
    /**
     * PostgreSQL instead of the SQLite file, e.g. `postgres://hotline:secret@db.example:5432/hotline`:
     * what several instances share. Empty: the SQLite file.
     */
    databaseUrl: z.string().regex(/^(postgres(ql)?:\/\/.*)?$/, 'must start with postgres:// or postgresql://').default(''),
    httpHost: nonEmpty.default('127.0.0.1'),
    httpPort: port.default(8080),
    /** The site's time zone (IANA): how times are shown to agents who have not chosen their own. */
    timeZone: z.string().refine((tz) => { try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; } }, 'is not a time zone (like Europe/Berlin or UTC)').default('Europe/Berlin'),
    /** Country code for numbers dialled with a leading trunk 0 (digits, no +). */
    countryCode: z.string().regex(/^\d{1,4}$/, 'must be 1 to 4 digits, without +').default('49'),
    /** A module file with a site's own TTN generator (see README); empty for none. */
    ttnGeneratorModule: z.string().default(''),
    /** A folder with Eta templates replacing the built-in ones of the same name. */
    templatesDir: z.string().default(''),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ariUrl: z.url().default('http://127.0.0.1:8088'),
    ariUser: nonEmpty.default('hotline'),
    ariPassword: z.string().default('hotline'),
    /**
     * This instance among several on one database: it marks the calls it takes and holds the leases of
     * the background work it does. Default: the host name — instances on one host need their own, and
     * an instance restarted under the same id takes its leases and calls back at once.
     */
    instanceId: z.string().regex(/^[\w.-]{1,64}$/, 'letters, digits, ., - and _ only, at most 64').default(() => hostname().replace(/[^\w.-]/g, '-').slice(0, 64) || 'hotline'),
    /** How long an instance's leases (its background work, and its being alive) last unrenewed: another instance takes over after that. */
    leaseSeconds: z.coerce.number().int().min(3).max(600).default(30),
    /**
     * Redis for socket.io's adapter, e.g. `redis://127.0.0.1:6379`: with several instances, pops reach
     * agents connected to any of them. Empty: pops stay within this instance.
     */
    redisUrl: z.string().regex(/^((rediss?|unix):\/\/.*)?$/, 'must start with redis://, rediss:// or unix:// (a Unix socket)').default(''),
    /**
     * What this instance runs, comma-separated: `web` (pages, API, /healthz and the agents' pop
     * sockets), `bridge` (ARI and AMI: the IVR, routing, pops, click-to-dial) and `mail` (SMTP, IMAP,
     * sending the outbox, reminders). Default: all three. Instances with other roles share the database;
     * pops reach web instances from bridge instances through `redisUrl`.
     */
    services: z
      .string()
      .transform((v) => [...new Set(v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))])
      .pipe(z.array(z.enum(SERVICES, { error: (issue) => `unknown service "${String(issue.input)}": choose from ${SERVICES.join(', ')}` })).min(1, `name at least one of ${SERVICES.join(', ')}`))
      .default([...SERVICES]),
    ariApp: z.string().regex(/^[\w-]+$/, 'letters, digits, - and _ only').default('hotline'),
    amiHost: nonEmpty.default('127.0.0.1'),
    amiPort: port.default(5038),
    amiUser: nonEmpty.default('hotline'),
    amiSecret: z.string().default('hotline'),
    /** The SMTP listener for incoming mail; `smtpPort: 0` picks a free port, `smtpEnabled: false` turns it off. */
    smtpEnabled: z.preprocess((v) => (typeof v === 'string' ? v !== 'false' && v !== '0' : v), z.boolean()).default(true),
    smtpHost: nonEmpty.default('127.0.0.1'),
    smtpPort: port.default(2525),
    /**
     * Connections one address may hold open to the web UI / API at once (more are closed at once).
     * Behind a reverse proxy every agent comes from the proxy's address: raise it to the agents' tabs
     * (each holds a websocket and a few HTTP connections), and let the proxy limit each client.
     */
    httpMaxConnectionsPerAddress: z.coerce.number().int().min(1).default(512),
    /**
     * Comma-separated addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For` and
     * `X-Forwarded-Proto` are believed (e.g. `127.0.0.1,10.0.0.0/8`). Empty (the default): none, so
     * a client cannot pick the address its failed logins are counted against.
     */
    trustedProxies: z.string().default(''),
    /**
     * Failed logins one login name may have from one address before each further try must wait;
     * the first wait, which doubles with every further failure (up to 15 minutes).
     */
    loginFailuresAllowed: z.coerce.number().int().min(1).max(100).default(5),
    loginFirstWaitSeconds: z.coerce.number().min(0.1).max(900).default(1),
    /** SMTP connections one address may hold open at once (more are refused with 421). */
    smtpMaxConnectionsPerAddress: z.coerce.number().int().min(1).default(20),
    /** Largest incoming message, in bytes. */
    mailMaxBytes: z.coerce.number().int().min(1024).default(25 * 1024 * 1024),
    /** Comma-separated domains the SMTP listener accepts mail for; empty: any. */
    mailDomains: z.string().default(''),
    /** Where agents reach the web UI, e.g. `https://hotline.example.com`: links in the notices mailed to them (empty: none). */
    publicUrl: z.union([z.literal(''), z.url()]).default(''),
    /** Sender of auto-replies for queues without their own address. */
    mailFrom: z.email().default('hotline@localhost.localdomain'),
    /** Outgoing relay, e.g. `smtp://user:pass@mail.example.com:587`; empty: .eml files in <dataDir>/outbox. */
    relayUrl: z.string().default(''),
    /** Auto-replies per sender per 24 hours. */
    autoReplyLimit: z.coerce.number().int().min(0).default(10),
    /** IMAP mailbox to poll, e.g. `imap://user:pass@127.0.0.1:143/INBOX`; empty: none. */
    imapUrl: z.string().default(''),
    imapPollSeconds: z.coerce.number().int().min(5).default(60),
    /** Mailbox to move polled messages to; empty: mark them \Seen. */
    imapDoneMailbox: z.string().default(''),
    /** Failed tries (wrong check digit, unknown ticket) before a caller goes to the default queue. */
    ivrMaxTries: z.coerce.number().int().min(1).max(10).default(3),
    /**
     * Guessing ticket numbers by phone, per 15 minutes: unknown numbers one caller number may key,
     * and all callers together; different tickets one caller number may be put through for (a
     * switchboard whose staff share one number may need more); tickets one number may open with #.
     * Past a limit the caller goes to the default queue, unverified.
     */
    ivrUnknownPerCaller: z.coerce.number().int().min(1).default(5),
    ivrUnknownTotal: z.coerce.number().int().min(1).default(60),
    ivrTicketsPerCaller: z.coerce.number().int().min(1).default(3),
    ivrNewTicketsPerCaller: z.coerce.number().int().min(0).default(3),
    ivrFirstDigitTimeoutMs: z.coerce.number().int().min(1000).max(60_000).default(8000),
    ivrInterDigitTimeoutMs: z.coerce.number().int().min(500).max(30_000).default(4000),
    /** Seconds the owner's phone rings before the call falls through to the queue. */
    ringTimeoutSeconds: z.coerce.number().int().min(5).max(120).default(20),
    /** Folder of the IVR prompt files (`<lang>/<name>.wav`); defaults to `<dataDir>/prompts`. */
    promptsDir: z.string().default(''),
    /** The same folder as Asterisk sees it (when it runs elsewhere or mounts it at another path). */
    promptsPbxDir: z.string().default(''),
    /** Media URI per IVR prompt used only where no prompt file exists (`sound:…`); JSON in HOTLINE_PROMPTS. */
    prompts: z
      .preprocess(
        (v) => (typeof v === 'string' ? parseJsonOr(v) : v),
        z.object(Object.fromEntries(Object.keys(DEFAULT_PROMPTS).map((k) => [k, z.string().min(1).optional()]))).strict(),
      )
      .default({}),
  })
  .strict();

export type Config = Omit<z.infer<typeof schema>, 'prompts'> & { database: string; prompts: Record<PromptName, string> };
export type ConfigInput = z.input<typeof schema>;

/** JSON from an environment variable; the raw string when it is not JSON (the schema then names the key). */
function parseJsonOr(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** A config problem the user must fix: names the key and says what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `dataDir` → `HOTLINE_DATA_DIR`. */
export function envName(key: string): string {
  return `HOTLINE_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

const KEYS = Object.keys(schema.shape) as Array<keyof typeof schema.shape>;

/**
 * Builds the config from (lowest first) defaults, the JSON config file, `HOTLINE_*`
 * variables and `overrides`. Throws ConfigError naming every bad key.
 *
 * @param options.file config file; default `HOTLINE_CONFIG` or `./hotline.config.json` when it exists
 */
export function loadConfig(options: { env?: NodeJS.ProcessEnv; file?: string; overrides?: ConfigInput; cwd?: string } = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ?? env.HOTLINE_CONFIG ?? (existsSync(join(cwd, 'hotline.config.json')) ? join(cwd, 'hotline.config.json') : undefined);
  let fromFile: Record<string, unknown> = {};
  if (file) {
    const path = resolve(cwd, file);
    try {
      fromFile = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
    }
    if (fromFile === null || typeof fromFile !== 'object' || Array.isArray(fromFile)) throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  const fromEnv: Record<string, string> = {};
  for (const key of KEYS) {
    const value = env[envName(key)];
    if (value !== undefined) fromEnv[key] = value;
  }
  const parsed = schema.safeParse({ ...fromFile, ...fromEnv, ...options.overrides });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      // An item of a list (`services`) is named by its setting.
      const key = issue.path.filter((p) => typeof p !== 'number').join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '(config)');
      const top = String(issue.path[0] ?? '');
      const where = top in fromEnv ? ` (from ${envName(top)})` : file && top in fromFile ? ` (from ${file})` : '';
      return `${key}${where}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = parsed.data;
  const dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(cwd, config.dataDir);
  const database = config.database === ':memory:' ? ':memory:' : resolve(cwd, config.database ?? join(dataDir, 'hotline.db'));
  const ttnGeneratorModule = config.ttnGeneratorModule ? resolve(cwd, config.ttnGeneratorModule) : '';
  const templatesDir = config.templatesDir ? resolve(cwd, config.templatesDir) : '';
  const promptsDir = config.promptsDir ? resolve(cwd, config.promptsDir) : join(dataDir, 'prompts');
  const promptsPbxDir = config.promptsPbxDir || promptsDir;
  return { ...config, dataDir, database, ttnGeneratorModule, templatesDir, promptsDir, promptsPbxDir, prompts: { ...DEFAULT_PROMPTS, ...(config.prompts as Partial<Record<PromptName, string>>) } };
}
