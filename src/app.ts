import { createAgentService } from './core/agent-service.js';
import { createAuthService } from './core/auth-service.js';
import { createCallService } from './core/call-service.js';
import { createNoticeService } from './core/notice-service.js';
import { createNoticeRepository } from './storage/notice-repository.js';
import { createI18n, languageOf } from './i18n/i18n.js';
import type { I18n } from './i18n/i18n.js';
import { createTextOverrideRepository } from './storage/text-repository.js';
import { createDirectoryService } from './core/directory-service.js';
import { createEventBus } from './core/events.js';
import type { Clock } from './core/ticket-service.js';
import { createTicketService } from './core/ticket-service.js';
import type { TtnGenerator } from './core/ttn/generator.js';
import { createTtnService } from './core/ttn/ttn-service.js';
import type { Config } from './config.js';
import type { PbxOptions } from './pbx/pbx.js';
import type { PromptStore } from './prompts/prompt-store.js';
import { createPromptStore } from './prompts/prompt-store.js';
import type { Logger } from './logger.js';
import { createLogger } from './logger.js';
import { createAgentRepository } from './storage/agent-repository.js';
import { createAttachmentRepository } from './storage/attachment-repository.js';
import { createApiTokenRepository, createSessionRepository } from './storage/session-repository.js';
import { createCallRepository } from './storage/call-repository.js';
import { createCustomerRepository } from './storage/customer-repository.js';
import type { Db } from './storage/database.js';
import { openStorage } from './storage/open.js';
import type { Storage } from './storage/open.js';
import { cachedAgentStore, cachedApiTokenStore, cachedQueueStore, cachedSessionStore, cachedSettingsStore } from './storage/cached-stores.js';
import { createMailRepository } from './storage/mail-repository.js';
import type { WriteRole } from './storage/write-turns.js';
import { createQueueRepository } from './storage/queue-repository.js';
import { createCounterRepository, createSettingsRepository } from './storage/settings-repository.js';
import { createTicketRepository } from './storage/ticket-repository.js';
import { createLeaseRepository } from './storage/lease-repository.js';
import { createPopStateRepository } from './storage/pop-repository.js';
import { createLoginFailureRepository } from './storage/login-failure-repository.js';
import { createSavedFilterRepository } from './storage/saved-filter-repository.js';
import { createCannedAnswerRepository, createDraftRepository } from './storage/reply-repository.js';
import { loadTtnGeneratorModule } from './ttn-generator-module.js';

/** Replaceable parts, for tests. */
export interface HotlineOverrides {
  clock?: Clock;
  /**
   * How long a write waits for a lock held by another process. The service sets a short one (its
   * writes run on the event loop, beside the calls); the CLI and `hotline ingest` keep 5 s.
   */
  busyTimeoutMs?: number;
  log?: Logger;
  /** false where another part of the same service has already copied the shipped prompts (the web process). */
  installPrompts?: boolean;
  /** The threads of one service take turns to write, the call path first (see write-turns.ts). */
  writeTurns?: { shared: SharedArrayBuffer; role: WriteRole };
  /** Storage opened already (the composition root's storage plugin); otherwise opened here from the config. */
  storage?: Storage;
}

const systemClock: Clock = { now: () => new Date() };

/**
 * The composition root: builds storage, the core services and their wiring from
 * the config. Nothing here listens on a port; see `buildServer` for that.
 */
export async function createHotline(config: Config, overrides: HotlineOverrides = {}) {
  const log = overrides.log ?? createLogger(config.logLevel);
  const clock = overrides.clock ?? systemClock;
  const extraGenerators: TtnGenerator[] = config.ttnGeneratorModule ? [await loadTtnGeneratorModule(config.ttnGeneratorModule)] : [];
  // The SQLite file (the embedded default) or PostgreSQL (`databaseUrl`); one set of queries for both (storage/engine.ts).
  const storage = overrides.storage ?? (await openStorage(config, { busyTimeoutMs: overrides.busyTimeoutMs, writeTurns: overrides.writeTurns, log }));
  const { sql, callPath } = storage;
  try {
    const events = createEventBus((name, error) => log.error({ err: error, event: name }, 'event handler failed'));
    // On PostgreSQL kept in memory between changes, which every process hears of (storage/change-feed.ts).
    const { changes } = storage;
    const queues = cachedQueueStore(createQueueRepository(sql), changes);
    const settings = cachedSettingsStore(createSettingsRepository(sql), changes);
    const ttn = createTtnService({ settings, counters: createCounterRepository(sql), extraGenerators, timeZone: config.timeZone });
    await ttn.load();
    const tickets = createTicketService({ tickets: createTicketRepository(sql), attachments: createAttachmentRepository(sql), queues, ttn, events, clock });
    const agentStore = cachedAgentStore(createAgentRepository(sql), changes);
    const agents = createAgentService({ agents: agentStore, clock, events });
    const prompts = createPromptStore({ dir: config.promptsDir });
    if (overrides.installPrompts !== false) {
      const failed = prompts.install();
      if (failed.length) log.warn({ failed: failed.length, first: failed[0] }, `${failed.length} IVR prompts could not be copied into ${config.promptsDir}; Asterisk's own sounds play for them until they can`);
    }
    const auth = createAuthService({ agents, sessions: cachedSessionStore(createSessionRepository(sql), changes), tokens: cachedApiTokenStore(createApiTokenRepository(sql), changes), clock, events, limits: { perLoginAndAddress: config.loginFailuresAllowed, baseDelayMs: config.loginFirstWaitSeconds * 1000 }, loginFailures: createLoginFailureRepository(sql) });
    const calls = createCallService({ instance: config.instanceId, calls: createCallRepository(callPath), tickets, agents: agentStore, queues, events, clock, onError: (error, what) => log.warn({ err: error }, `${what} failed`) });
    const texts = createTextOverrideRepository(sql);
    let currentTexts = createI18n(await texts.all());
    // A stable handle (the service's parts keep it) over the texts loaded last.
    const i18n: I18n = { t: (lang) => currentTexts.t(lang), override: (lang, key, text) => currentTexts.override(lang, key, text), shipped: () => currentTexts.shipped() };
    const notices = createNoticeService({ notices: createNoticeRepository(sql), agents: agentStore, queues, events, clock, texts: (language) => i18n.t(languageOf(language) ?? 'en'), onError: (error) => log.warn({ err: error }, 'a notice could not be written') });
    const reloadTexts = async (): Promise<void> => {
      currentTexts = createI18n(await texts.all());
    };
    // Cached settings (the TTN's, the texts) are read again when the `changed` mark moves: set by whoever
    // changes them, in any process or instance. A reload records the mark it has seen, so that the
    // processes of one instance, told at once, do not read the same change again when they next look.
    let settingsWatch: NodeJS.Timeout | undefined;
    let settingsSeen: string | undefined;
    const reloadSettings = async (): Promise<void> => {
      settingsSeen = JSON.stringify((await settings.get('changed')) ?? null);
      await ttn.load();
      await reloadTexts();
    };
    const directory = createDirectoryService({ queues, customers: createCustomerRepository(sql), clock, countryCode: config.countryCode, events });
    // What the IVR reads and writes, on the call path's own connections (storage/open.ts): on
    // PostgreSQL they have short deadlines and cannot be taken by pages or mail; on SQLite its writes
    // are guarded and go first. The same services, the same event bus.
    const callPathQueues = cachedQueueStore(createQueueRepository(callPath), changes);
    const callPathServices = {
      tickets: createTicketService({ tickets: createTicketRepository(callPath), attachments: createAttachmentRepository(callPath), queues: callPathQueues, ttn, events, clock }),
      agents: createAgentService({ agents: cachedAgentStore(createAgentRepository(callPath), changes), clock, events }),
      directory: createDirectoryService({ queues: callPathQueues, customers: createCustomerRepository(callPath), clock, countryCode: config.countryCode, events }),
    };
    return {
      config,
      log,
      clock,
      /** The SQLite connection, for tests and tools that look at the file itself; on PostgreSQL, using it throws. */
      db: storage.db ?? noSqliteFile(storage.where),
      /** The engine every repository runs its queries on (see storage/engine.ts). */
      sql,
      /** Which database, and where (for the log and the admin overview). */
      database: { engine: storage.engine, where: storage.where },
      /** Shared with the service's other threads, for their write turns; null outside `hotline serve`. */
      writeTurns: overrides.writeTurns?.shared ?? null,
      events,
      settings,
      ttn,
      tickets,
      agents,
      directory,
      calls,
      /** Tickets, agents and the directory as the IVR uses them (see above). */
      callPath: callPathServices,
      auth,
      /** What agents are told: assigned tickets, customers' replies, new tickets of watched queues, reminders. */
      notices,
      prompts,
      /** German and English texts, with the admins' wording over the shipped one. */
      i18n,
      /** The admins' wording of texts; `reloadTexts` after changing them here. */
      texts,
      reloadTexts,
      /** Reads the TTN settings and the texts again (another process of this instance changed them). */
      reloadSettings,
      /** Marks the settings changed, for every other process and instance on this database (`watchSettings`). */
      async markSettingsChanged(): Promise<void> {
        const mark = { at: clock.now().toISOString(), instance: config.instanceId, n: Math.random() };
        await settings.set('changed', mark);
        settingsSeen = JSON.stringify(mark);
      },
      /**
       * Reloads the TTN settings and the texts whenever another process or instance marked the settings
       * changed (looked at every `everyMs`; a read of one row). The processes of one instance also tell
       * each other at once; this is how other instances learn of it.
       */
      watchSettings(everyMs = 5000): void {
        clearInterval(settingsWatch);
        const look = () =>
          settings
            .get('changed')
            .then(async (mark) => {
              const seen = JSON.stringify(mark ?? null);
              if (settingsSeen === undefined) settingsSeen = seen;
              else if (seen !== settingsSeen) {
                await reloadSettings();
                log.info('settings changed elsewhere: TTN settings and texts read again');
              }
            })
            .catch((error: unknown) => log.warn({ err: (error as Error).message }, 'could not look for changed settings'));
        void look();
        settingsWatch = setInterval(look, everyMs);
        settingsWatch.unref();
      },
      /** Which running calls' pops agents were shown and dismissed, for every instance. */
      popState: createPopStateRepository(sql),
      /** Raw mail, the outbox and the mail details of articles (the e-mail channel's storage). */
      mailStore: createMailRepository(sql, storage.durability),
      /** Leases: which instance does which background work, and which instances are alive. */
      leases: createLeaseRepository(sql),
      /** Ticket-list filters agents saved. */
      savedFilters: createSavedFilterRepository(sql),
      /** Canned answers admins prepared, per queue or for all. */
      cannedAnswers: createCannedAnswerRepository(sql),
      /** Files attached to replies not sent yet, per agent and ticket. */
      drafts: createDraftRepository(sql),
      /** What keeps the database from being written, in words; empty when it can be. */
      databaseProblems: () => storage.problems(),
      /** Closes the database; call once everything using it has stopped. The SQLite file is closed at once; PostgreSQL's pool when the promise resolves. */
      close(): Promise<void> {
        clearInterval(settingsWatch);
        return storage.close();
      },
    };
  } catch (error) {
    await storage.close();
    throw error;
  }
}

/** `hotline.db` on PostgreSQL: there is no SQLite file, and saying so beats a confusing TypeError. */
function noSqliteFile(where: string): Db {
  return new Proxy({} as Db, {
    get(_, property) {
      throw new Error(`this Hotline runs on ${where}: there is no SQLite connection (asked for .${String(property)})`);
    },
  });
}

export type Hotline = Awaited<ReturnType<typeof createHotline>>;

/** The Asterisk bridge's options from the config. */
export function pbxOptionsFrom(config: Config, prompts: PromptStore): PbxOptions {
  return {
    ariUrl: config.ariUrl,
    ariUser: config.ariUser,
    ariPassword: config.ariPassword,
    ariApp: config.ariApp,
    instanceId: config.instanceId,
    amiHost: config.amiHost,
    amiPort: config.amiPort,
    amiUser: config.amiUser,
    amiSecret: config.amiSecret,
    guessLimits: { perCaller: config.ivrUnknownPerCaller, total: config.ivrUnknownTotal, ticketsPerCaller: config.ivrTicketsPerCaller, newTicketsPerCaller: config.ivrNewTicketsPerCaller },
    ivr: {
      maxTries: config.ivrMaxTries,
      firstDigitTimeoutMs: config.ivrFirstDigitTimeoutMs,
      interDigitTimeoutMs: config.ivrInterDigitTimeoutMs,
      ringTimeoutSeconds: config.ringTimeoutSeconds,
      promptMedia: (name, language) => {
        const lang = prompts.effectiveLanguage(name, language);
        return lang ? `sound:${config.promptsPbxDir}/${lang}/${name}` : config.prompts[name];
      },
      promptDurationMs: (name, language) => {
        const lang = prompts.effectiveLanguage(name, language);
        return lang ? prompts.durationMs(lang, name) : null;
      },
    },
  };
}
