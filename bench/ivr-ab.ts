// `npm run bench:ivr-ab`: the call path at N=200 (a warm-up, 3 paced rounds, 1 burst) in one line, for
// a before/after: run it alternately with BENCH_HOTLINE_ROOT=<a worktree of the earlier commit, built>
// and without (this checkout). The machine is noisy: compare several alternating runs, not one.
import { ivrBench } from './ivr-pops.js';
const bench = await ivrBench(200);
try {
  await bench.run('paced');
  const out: Record<string, unknown> = {};
  const paced = [];
  for (let i = 0; i < 3; i++) paced.push(await bench.run('paced'));
  const burst = await bench.run('burst');
  out.pacedDecisionP50 = paced.map((r) => r.decision.p50.toFixed(1));
  out.pacedDecisionP99 = paced.map((r) => r.decision.p99.toFixed(1));
  out.pacedPopP99 = paced.map((r) => r.pop.p99.toFixed(1));
  out.pacedCpu = paced.map((r) => r.cpuMsPerCall.toFixed(2));
  out.burstDecisionP99 = burst.decision.p99.toFixed(1);
  out.errors = [...paced, burst].reduce((a, r) => a + r.errors + r.misrouted, 0);
  console.log(`RESULT ${process.env.BENCH_HOTLINE_ROOT ? 'before' : 'after'} ${JSON.stringify(out)}`);
} finally {
  await bench.close();
}
