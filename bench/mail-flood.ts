// A mail flood for the benchmark: sends new-ticket messages to Hotline's SMTP listener over
// `connections` pooled connections, as fast as they are accepted, until SIGINT; then prints
// {"sent": n, "seconds": s} and exits. Runs as its own process, beside the calls.
import nodemailer from 'nodemailer';

const [port, connections = '8'] = process.argv.slice(2);
const transport = nodemailer.createTransport({ host: '127.0.0.1', port: Number(port), secure: false, ignoreTLS: true, pool: true, maxConnections: Number(connections), maxMessages: Infinity });
const started = performance.now();
let sent = 0;
let stopping = false;
const body = 'The printer on the second floor prints blank pages again, since this morning. '.repeat(25);

async function sender(n: number): Promise<void> {
  for (let i = 0; !stopping; i++) {
    await transport.sendMail({ from: `customer${n}-${i}@example.org`, to: 'support@hotline.example', subject: `Printer ${n}-${i}`, text: body });
    sent++;
  }
}

process.once('SIGINT', () => {
  stopping = true;
});
await Promise.all(Array.from({ length: Number(connections) * 2 }, (_, n) => sender(n).catch(() => undefined)));
transport.close();
process.stdout.write(`${JSON.stringify({ sent, seconds: (performance.now() - started) / 1000 })}\n`);
process.exit(0);
