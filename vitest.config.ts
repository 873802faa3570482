import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ once, for the tests that run the real `hotline` binary in child processes.
    globalSetup: ['test/helpers/build.ts'],
    // Two files at a time: the real-Asterisk files mostly wait for calls, so they overlap well with the rest.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Waits for what a test expects to see, with room for a busy machine: a poll ends as soon as it holds.
    expect: { poll: { timeout: 10_000, interval: 20 } },
  },
});
