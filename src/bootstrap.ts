import type { Hotline } from './app.js';
import type { Queue } from './core/types.js';

/**
 * Ensures a default queue exists (OTRS calls it "Raw"): calls and mail always need somewhere to go.
 * Instances starting together on one empty database may both try: the one whose insert loses finds the other's.
 */
export async function ensureDefaultQueue(hotline: Pick<Hotline, 'directory'>): Promise<Queue> {
  const found = await hotline.directory.defaultQueue();
  if (found) return found;
  try {
    return await hotline.directory.createQueue({ name: 'Raw', isDefault: true });
  } catch (error) {
    const made = await hotline.directory.defaultQueue();
    if (made) return made;
    throw error;
  }
}

/**
 * On a first start, creates the `admin` account with a one-time password and returns it; null when an
 * admin exists — also when another instance starting at the same moment made it (and printed its password).
 */
export async function ensureAdmin(hotline: Pick<Hotline, 'agents'>): Promise<{ login: string; password: string } | null> {
  if (await hotline.agents.hasAdmin()) return null;
  const login = (await hotline.agents.findByLogin('admin')) ? `admin-${Date.now()}` : 'admin';
  try {
    const { password } = await hotline.agents.create({ login, name: 'Administrator', role: 'admin' });
    return { login, password };
  } catch (error) {
    if (await hotline.agents.hasAdmin()) return null;
    throw error;
  }
}
