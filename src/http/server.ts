import Fastify from 'fastify';
import type { Hotline } from '../app.js';

/** The HTTP server: for now `/healthz`; the agent UI and API register here as plugins. */
export async function buildServer(hotline: Hotline) {
  const app = Fastify({ loggerInstance: hotline.log });

  app.get('/healthz', async (_request, reply) => {
    let db: 'ok' | string = 'ok';
    try {
      hotline.db.prepare('SELECT 1').get();
    } catch (error) {
      db = `error: ${(error as Error).message}`;
    }
    const healthy = db === 'ok';
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'degraded', db });
  });

  return app;
}
