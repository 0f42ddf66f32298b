import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Two projects: every test runs on SQLite; tests that touch storage (`*.db.test.ts`) run again on
// PostgreSQL (FORMWARDEN_TEST_PG, default postgres://postgres@127.0.0.1:5432/postgres).
// expect.poll waits for what a browser page does next (1 s by default: too short on a loaded 2-core machine).
const common = { testTimeout: 60_000, hookTimeout: 60_000, pool: 'forks' as const, expect: { poll: { timeout: 30_000 } } };

// Most test files wait on other processes (servers, PostgreSQL, Chromium) rather than compute, so on a
// 2-core machine two files at a time finish the suite much sooner than vitest's default (cores - 1 = 1).
// FW_TEST_WORKERS overrides it (1: one file at a time).
const maxWorkers = Number(process.env.FW_TEST_WORKERS) || Math.max(2, availableParallelism());

export default defineConfig({
  test: {
    maxWorkers,
    // .ci/run asks for a JSON report to print one closing line for both Node versions.
    reporters: process.env.FW_JSON_REPORT ? ['default', 'json'] : ['default'],
    outputFile: process.env.FW_JSON_REPORT ? { json: process.env.FW_JSON_REPORT } : undefined,
    projects: [
      { test: { ...common, name: 'sqlite', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], env: { FW_TEST_DB: 'sqlite' } } },
      {
        test: {
          ...common,
          name: 'postgres',
          include: ['src/**/*.db.test.ts', 'test/**/*.db.test.ts'],
          env: { FW_TEST_DB: 'postgres' },
          globalSetup: ['test/support/pg-global-setup.ts'],
        },
      },
    ],
  },
});
