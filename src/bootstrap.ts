import type { Hotline } from './app.js';
import type { Queue } from './core/types.js';

/** Ensures a default queue exists (OTRS calls it "Raw"): calls and mail always need somewhere to go. */
export async function ensureDefaultQueue(hotline: Hotline): Promise<Queue> {
  return (await hotline.directory.defaultQueue()) ?? hotline.directory.createQueue({ name: 'Raw', isDefault: true });
}

/** On a first start, creates the `admin` account with a one-time password and returns it; null when an admin exists. */
export async function ensureAdmin(hotline: Hotline): Promise<{ login: string; password: string } | null> {
  if (await hotline.agents.hasAdmin()) return null;
  const login = (await hotline.agents.findByLogin('admin')) ? `admin-${Date.now()}` : 'admin';
  const { password } = await hotline.agents.create({ login, name: 'Administrator', role: 'admin' });
  return { login, password };
}
