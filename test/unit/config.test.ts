import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envName, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('works with nothing set, with the data folder under the working directory', () => {
    const c = loadConfig({ env: {}, cwd: '/srv/hotline' });
    expect(c).toMatchObject({ dataDir: '/srv/hotline/data', database: '/srv/hotline/data/hotline.db', httpHost: '127.0.0.1', httpPort: 8080, ariApp: 'hotline' });
  });

  it('takes HOTLINE_<KEY> over the file over defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotline-config-'));
    writeFileSync(join(dir, 'hotline.config.json'), JSON.stringify({ httpPort: 9000, countryCode: '44' }));
    const c = loadConfig({ env: { HOTLINE_HTTP_PORT: '9100', HOTLINE_DATA_DIR: '/var/lib/hotline' }, cwd: dir });
    expect(c).toMatchObject({ httpPort: 9100, countryCode: '44', dataDir: '/var/lib/hotline', database: '/var/lib/hotline/hotline.db' });
    expect(envName('ariUrl')).toBe('HOTLINE_ARI_URL');
  });

  it('names the key and its source when a value is bad', () => {
    expect(() => loadConfig({ env: { HOTLINE_HTTP_PORT: 'eighty' } })).toThrow(/httpPort \(from HOTLINE_HTTP_PORT\)/);
    const dir = mkdtempSync(join(tmpdir(), 'hotline-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ htpPort: 1 }));
    expect(() => loadConfig({ env: {}, file })).toThrow(/htpPort/);
    writeFileSync(file, '{ not json');
    expect(() => loadConfig({ env: {}, file })).toThrow(/cannot read config file .*c\.json/);
  });

  it('takes Redis over TCP, TLS or a Unix socket, and nothing else', () => {
    for (const url of ['redis://10.0.0.5:6379', 'rediss://redis.example:6380', 'unix:///run/redis/redis-server.sock', '']) {
      expect(loadConfig({ env: { HOTLINE_REDIS_URL: url } }).redisUrl).toBe(url);
    }
    expect(() => loadConfig({ env: { HOTLINE_REDIS_URL: 'http://10.0.0.5:6379' } })).toThrow(/redisUrl \(from HOTLINE_REDIS_URL\).*unix:\/\//);
  });
});
