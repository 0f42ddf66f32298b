import { MemoryReplayStore } from './replay-store.js';
import type { CheckContext, Submission } from './types.js';

// One process-wide default, so that contexts built per request still share replay state.
const defaultReplay = new MemoryReplayStore();

/**
 * A CheckContext with defaults: real clock, the process-wide in-memory replay store (pass a RedisReplayStore
 * when several instances serve the same forms), global fetch, console warnings.
 */
export function createCheckContext(over: Partial<CheckContext> = {}): CheckContext {
  return {
    clock: over.clock ?? (() => new Date()),
    replay: over.replay ?? defaultReplay,
    fetch: over.fetch ?? globalThis.fetch,
    warn: over.warn ?? ((msg, data) => console.warn(msg, data ?? '')),
    ...(over.signal ? { signal: over.signal } : {}),
    ...(over.prior ? { prior: over.prior } : {}),
  };
}

/** A submission with empty defaults, for the HTTP layer to fill (and for tests). */
export function makeSubmission(over: Partial<Submission> & { formId: string }): Submission {
  return {
    fields: {},
    ip: '127.0.0.1',
    receivedAt: new Date(),
    honeypot: {},
    lang: 'ja',
    headers: {},
    ...over,
  };
}
