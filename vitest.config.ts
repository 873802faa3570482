import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ once, for the tests that run the real `hotline` binary in child processes.
    globalSetup: ['test/helpers/build.ts'],
    // Two files at a time: the real-Asterisk files mostly wait for calls, so they overlap well with the rest.
    // Three were faster alone (492–554 s against 593–601 s) but, with two suites on the machine at once,
    // left `hotline serve` more than 30 s to start; a busy machine must not turn the suite red.
    maxWorkers: 2,
    // A bound for a test that hangs, not a measure of speed (tests assert their own timings): with two
    // full suites and more on the two cores at once, tests that start \`hotline serve\` took over 30 s.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Waits for what a test expects to see, with room for a busy machine: a poll ends as soon as it holds.
    expect: { poll: { timeout: 10_000, interval: 20 } },
  },
});
