// Child process for the TTN concurrency test: creates N tickets on a shared database file
// through the compiled service (the same code `hotline ticket create` runs) and prints their TTNs.
import { createHotline } from '../../dist/app.js';
import { loadConfig } from '../../dist/config.js';

const [database, count, startAt] = process.argv.slice(2);
const hotline = await createHotline(loadConfig({ env: {}, overrides: { database, logLevel: 'silent' } }));
const queue = await hotline.directory.defaultQueue();
// Wait for the common start moment, so the processes really compete for the counter.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
const ttns = [];
for (let i = 0; i < Number(count); i++) {
  const { ticket } = await hotline.tickets.create({ queueId: queue.id, title: `concurrent ${process.pid} ${i}`, article: { kind: 'note', text: '' } });
  ttns.push(ticket.ttn);
}
hotline.close();
process.stdout.write(ttns.join('\n'));
