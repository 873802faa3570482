import Fastify from 'fastify';
import type { Hotline } from '../app.js';
import type { Pbx } from '../pbx/pbx.js';

/** The HTTP server: for now `/healthz`; the agent UI and API register here as plugins. */
export async function buildServer(hotline: Hotline, parts: { pbx?: Pbx } = {}) {
  const app = Fastify({ loggerInstance: hotline.log });

  app.get('/healthz', async (_request, reply) => {
    let db: 'ok' | string = 'ok';
    try {
      hotline.db.prepare('SELECT 1').get();
    } catch (error) {
      db = `error: ${(error as Error).message}`;
    }
    const pbx = parts.pbx?.status();
    // The service is useful without the PBX (mail, web), and callers still reach the dialplan's
    // fallback queue: a PBX that is away degrades the status but is not a failure of the service.
    const healthy = db === 'ok';
    const pbxUp = !pbx || (pbx.ari === 'connected' && pbx.ami === 'connected');
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? (pbxUp ? 'ok' : 'degraded') : 'error', db, ...(pbx ? { pbx } : {}) });
  });

  return app;
}
