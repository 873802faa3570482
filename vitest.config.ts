import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ once, for the tests that run the real `hotline` binary in child processes.
    globalSetup: ['test/helpers/build.ts'],
    // Three files at a time on the two cores: the real-Asterisk and serve-spawning files mostly wait for
    // calls and processes (the whole suite: 492 s with three, 593–601 s with two).
    maxWorkers: 3,
    // A bound for a test that hangs, not a measure of speed (tests assert their own timings): with two
    // full suites and more on the two cores at once, tests that start \`hotline serve\` took over 30 s.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Waits for what a test expects to see, with room for a busy machine: a poll ends as soon as it holds.
    expect: { poll: { timeout: 10_000, interval: 20 } },
  },
});
