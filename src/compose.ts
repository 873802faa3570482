// The composition root of `hotline serve`: everything one instance runs — storage, core, pops,
// bridge, mail, web — each part a fastify plugin that starts its part and stops it again in its own
// onClose (fastify closes them in the reverse order: the pages first, the database last). Which parts run is the `services` setting: `web`,
// `bridge` and `mail` may run in one instance (the default) or apart, on one database.
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Hotline, HotlineOverrides } from './app.js';
import { createHotline, pbxOptionsFrom } from './app.js';
import { ensureAdmin, ensureDefaultQueue } from './bootstrap.js';
import type { Config } from './config.js';
import { createLeaseKeeper } from './core/leases.js';
import { createLeaseRepository } from './storage/lease-repository.js';
import type { HttpTimeouts } from './http/server.js';
import { ListenError } from './listen-error.js';
import type { MailChannel } from './mail/mail-channel.js';
import { startMailChannel } from './mail/mail-channel.js';
import type { Pbx } from './pbx/pbx.js';
import { startPbx } from './pbx/pbx.js';
import type { PopHost } from './realtime/pop-host.js';
import { startPopHost } from './realtime/pop-host.js';
import type { RealtimeOptions } from './realtime/realtime.js';
import { isWriteRefused } from './storage/db-health.js';
import { createWriteTurns } from './storage/write-turns.js';
import type { WriteRole } from './storage/write-turns.js';
import { openStorage } from './storage/open.js';
import type { Storage } from './storage/open.js';
import type { Logger } from './logger.js';
import { createLogger } from './logger.js';
import type { WebFront, WebFrontLimits } from './web/web-front.js';
import { startWebFront } from './web/web-front.js';

/** The service's own wait for a lock held by another process (see HotlineOverrides.busyTimeoutMs). */
const SERVE_BUSY_TIMEOUT_MS = 50;

/** Replaceable parts and shorter deadlines, for tests. */
export interface AppOverrides extends HotlineOverrides {
  web?: { timeouts?: Partial<HttpTimeouts>; limits?: Partial<WebFrontLimits> };
  realtime?: RealtimeOptions;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The database, and the log and write turns it was opened with (the core is built on them). */
    database: { storage: Storage; log: Logger; writeTurns: { shared: SharedArrayBuffer; role: WriteRole } };
    /** The core services and storage (every role). */
    hotline: Hotline;
    /** The first admin's login and one-time password, when this start created it. */
    firstAdmin: { login: string; password: string } | null;
    /** The agents' pop sockets (`web` or `bridge`). */
    popHost: PopHost | null;
    /** ARI and AMI (`bridge`). */
    pbx: Pbx | null;
    /** The e-mail channel's thread: everything with `mail`, only the pages' part with `web` alone. */
    mailChannel: MailChannel | null;
    /** The web process and where it listens (`web`). */
    webFront: (WebFront & { url: string }) | null;
  }
}

type PluginOptions = { config: Config; overrides: AppOverrides };

/** The database: the SQLite file or PostgreSQL (`databaseUrl`), closed last. */
const storagePlugin = fp<PluginOptions>(
  async (app, { config, overrides }) => {
    const log = overrides.log ?? createLogger(config.logLevel);
    // The call path writes first among the service's threads (src/storage/write-turns.ts).
    const writeTurns = overrides.writeTurns ?? { shared: createWriteTurns(), role: 'call-path' as const };
    const storage = await openStorage(config, { busyTimeoutMs: overrides.busyTimeoutMs ?? SERVE_BUSY_TIMEOUT_MS, writeTurns, log });
    app.decorate('database', { storage, log, writeTurns });
    app.addHook('onClose', () => storage.close());
  },
  { name: 'hotline-storage' },
);

/** The core services; on the way in the default queue and the first admin, and this instance's `instance:` lease. */
const corePlugin = fp<PluginOptions>(
  async (app, { config, overrides }) => {
    const { web: _web, realtime: _realtime, ...core } = overrides;
    const { storage, log: storageLog, writeTurns } = app.database;
    const hotline = await createHotline(config, { ...core, log: storageLog, writeTurns, storage });
    const log = hotline.log;
    // A database that cannot be written (read-only, full, locked) must not keep the service from
    // taking calls: without these two, callers still reach the dialplan's fallback queue. (Should
    // either throw otherwise, the storage plugin's onClose closes the database.)
    await ensureDefaultQueue(hotline).catch((error: unknown) => {
      if (!isWriteRefused(error)) throw error;
      log.error({ err: (error as Error).message }, 'no default queue could be created; callers without a route go to the dialplan fallback queue');
    });
    app.decorate(
      'firstAdmin',
      await ensureAdmin(hotline).catch((error: unknown) => {
        if (!isWriteRefused(error)) throw error;
        log.error({ err: (error as Error).message }, 'the first admin account could not be created; it is created at the next start that can write');
        return null;
      }),
    );
    hotline.watchSettings();
    // `instance:<id>` says this instance is alive, whatever its roles: when it runs out, another
    // instance takes over the calls this one took (pbx.ts), and the admin overview stops listing it.
    const alive = createLeaseKeeper({
      // On the call path's connection: on SQLite its writes are guarded, so that a lock held by another
      // process costs this thread's event loop no busy wait (the renewal fails at once and is tried again).
      store: createLeaseRepository(storage.callPath),
      holder: config.instanceId,
      names: [`instance:${config.instanceId}`],
      now: () => hotline.clock.now().getTime(),
      ttlMs: config.leaseSeconds * 1000,
      renewMs: (config.leaseSeconds * 1000) / 3,
      onError: (error) => log.warn({ err: (error as Error).message }, 'could not renew this instance\'s lease; other instances take its calls over if it runs out'),
    });
    await alive.start();
    app.decorate('hotline', hotline);
    app.addHook('onClose', async () => {
      // Given up at once: other instances take its calls over now rather than when it expires.
      await alive.stop();
      // What follows a change (notices to the agents concerned) is written before the database closes.
      await hotline.events.idle();
      await hotline.close();
    });
  },
  { name: 'hotline-core', dependencies: ['hotline-storage'] },
);

/** The pop sockets: where a web process hands them, and where the bridge's pops go out (through Redis to other instances). */
const popPlugin = fp<PluginOptions>(
  async (app, { config, overrides }) => {
    const host = startPopHost(app.hotline, { timeouts: overrides.web?.timeouts, realtime: overrides.realtime });
    app.popHost = host;
    app.addHook('onClose', () => host.close());
    const has = (s: string) => config.services.includes(s as never);
    if (!config.redisUrl && !(has('web') && has('bridge'))) {
      app.hotline.log.warn(
        has('web')
          ? 'no redisUrl: pops of calls taken by bridge instances cannot reach the agents connected here'
          : 'no redisUrl: the pops of calls taken here cannot reach agents, who connect to web instances',
      );
    }
  },
  { name: 'hotline-pops', dependencies: ['hotline-core'] },
);

/**
 * ARI and AMI: the IVR, routing, pops and click-to-dial. Its connections open before the web listens:
 * they are the call path's, and must not compete for file descriptors with a flood of web clients.
 */
const bridgePlugin = fp<PluginOptions>(
  async (app, { config }) => {
    const pbx = startPbx(app.hotline, pbxOptionsFrom(config, app.hotline.prompts));
    app.pbx = pbx;
    app.addHook('onClose', () => pbx.close());
  },
  { name: 'hotline-bridge', dependencies: ['hotline-core', 'hotline-pops'] },
);

/**
 * The e-mail channel on a thread of its own: a flood of messages costs the call path nothing but
 * write locks. With the `mail` role it listens, polls, sends and does the background work; a web
 * instance without it starts only what the pages need (replies are queued, and sent by a mail instance).
 */
const mailPlugin = fp<PluginOptions>(
  async (app, { config }) => {
    const mail = await startMailChannel(app.hotline, { listen: config.services.includes('mail') });
    app.mailChannel = mail;
    app.addHook('onClose', () => mail.close());
  },
  { name: 'hotline-mail', dependencies: ['hotline-core'] },
);

/** The pages, the API and /healthz in a process of their own (web-front.ts), listening on httpHost:httpPort. */
const webPlugin = fp<PluginOptions>(
  async (app, { config, overrides }) => {
    const mail = app.mailChannel!;
    const web = startWebFront(app.hotline, { pops: app.popHost!, pbx: app.pbx ?? undefined, mail, settingsChanged: mail.settingsChanged }, overrides.web);
    // Closed if listening fails, too: a half-started service must not keep running.
    app.addHook('onClose', () => web.close());
    const url = await web.listen(config.httpHost, config.httpPort).catch((error: NodeJS.ErrnoException) => {
      throw new ListenError('the web UI', 'httpHost / httpPort', config.httpHost, config.httpPort, error);
    });
    app.webFront = Object.assign(web, { url });
  },
  { name: 'hotline-web', dependencies: ['hotline-core', 'hotline-pops', 'hotline-mail'] },
);

/**
 * Builds and starts what `config.services` names, on the database `config` names. Resolves once every
 * part runs (the web listening, the mail thread ready); when a part cannot start, stops what was
 * started and rejects with why. `app.close()` stops everything, the database last.
 */
export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<FastifyInstance> {
  const services = new Set(config.services);
  // No plugin timeout: fastify's 10 s would stop a start that is only slow (migrations on a busy disk,
  // the web process or the mail thread starting on a loaded machine, seen in the tests); each part
  // has deadlines of its own and says why when it cannot start.
  const app = Fastify({ loggerInstance: overrides.log as FastifyBaseLogger | undefined, pluginTimeout: 0 });
  for (const name of ['popHost', 'pbx', 'mailChannel', 'webFront'] as const) app.decorate(name, null);
  const options: PluginOptions = { config, overrides };
  void app.register(storagePlugin, options);
  void app.register(corePlugin, options);
  if (services.has('web') || services.has('bridge')) void app.register(popPlugin, options);
  if (services.has('bridge')) void app.register(bridgePlugin, options);
  if (services.has('mail') || services.has('web')) void app.register(mailPlugin, options);
  if (services.has('web')) void app.register(webPlugin, options);
  try {
    await app.ready();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
