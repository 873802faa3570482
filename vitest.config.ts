import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ once, for the tests that run the real `hotline` binary in child processes.
    globalSetup: ['test/helpers/build.ts'],
    // Three files at a time on two cores: the real-Asterisk files mostly wait for calls (prompts play in
    // real time), so they overlap well with the rest — 567–600 s against 700–730 s with two. What a busy
    // machine broke at first were bounds, not behaviour, and each is now explicit: `hotline serve` gets
    // 60 s to start (a loaded machine took over 30 s), fastify's 10 s plugin timeout is off in the service
    // (it failed a start that was only slow), and mail filing at its lower priority gets 60 s.
    maxWorkers: 3,
    // A bound for a test that hangs, not a measure of speed (tests assert their own timings): with two
    // full suites and more on the two cores at once, tests that start \`hotline serve\` took over 30 s.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Waits for what a test expects to see, with room for a busy machine: a poll ends as soon as it holds.
    expect: { poll: { timeout: 10_000, interval: 20 } },
  },
});
