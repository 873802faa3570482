// Runs one mail benchmark in a fresh process, so its peak RSS is the pipeline's own and not what
// the benchmarks before it left behind: `tsx bench/mail-child.ts in-process|smtp|floor <count> [concurrency]`.
import { inProcess, overSmtp, parserFloor } from './mail.js';

const [kind, count, concurrency] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1)];
const result = kind === 'in-process' ? await inProcess(count, concurrency) : kind === 'smtp' ? await overSmtp(count) : await parserFloor(count);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
