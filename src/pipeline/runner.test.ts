import { describe, expect, it } from 'vitest';
import { createPipeline } from './runner.js';
import { Registry, onlyForForms } from './registry.js';
import { createCheckContext, makeSubmission } from './context.js';
import type { CheckContext, Defense, SymbolCatalog, Verdict } from './types.js';

const catalog: SymbolCatalog = {
  A: { score: 2, description: { en: 'a', ja: 'a' } },
  B: { score: 4, description: { en: 'b', ja: 'b' } },
  BIG: { score: 11, description: { en: 'big', ja: 'big' } },
  DEFENSE_ERROR: { score: 0.5, description: { en: 'err', ja: 'err' } },
  DEFENSE_TIMEOUT: { score: 0.5, description: { en: 'to', ja: 'to' } },
};

const sub = makeSubmission({ formId: 'contact' });

function d(name: string, over: Partial<Defense> = {}): Defense {
  return { name, stage: 'main', onError: 'fail-open', check: async () => ({ kind: 'pass' }), ...over };
}

function ctx(): CheckContext & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...createCheckContext({ warn: (m) => warnings.push(m) }), warnings };
}

describe('registry order', () => {
  it('orders by stage, then priority, then registration order', () => {
    const r = new Registry()
      .register(d('post-one', { stage: 'post' }))
      .register(d('main-late', { priority: 10 }))
      .register(d('main-a'))
      .register(d('main-b'))
      .register(d('pre-one', { stage: 'pre', priority: 50 }))
      .register(d('main-early', { priority: -1 }));
    expect(r.list().map((x) => x.name)).toEqual(['pre-one', 'main-early', 'main-a', 'main-b', 'main-late', 'post-one']);
  });
  it('rejects duplicate names and bad stages', () => {
    expect(() => new Registry().register(d('x')).register(d('x'))).toThrow(/twice/);
    expect(() => new Registry().register(d('x', { stage: 'later' as never }))).toThrow(/stage/);
  });
  it('validates declared symbols against the catalog', () => {
    const r = new Registry().register(d('x', { symbols: ['A', 'NOPE'] }));
    expect(() => r.validate(catalog)).toThrow(/x: NOPE/);
    expect(() => createPipeline({ defenses: r, catalog })).toThrow(/NOPE/);
  });
});

describe('runner', () => {
  it('sums scores (weight multiplies), applies the ladder and keeps details', async () => {
    const p = createPipeline({
      catalog,
      defenses: [
        d('one', { check: async () => ({ kind: 'flag', findings: [{ symbol: 'A', detail: 'x' }] }) }),
        d('two', { check: async () => ({ kind: 'flag', findings: [{ symbol: 'B', weight: 0.5 }] }) }),
      ],
    });
    const { verdict } = await p.run(sub, ctx());
    expect(verdict).toEqual({
      action: 'accept_no_autoreply',
      score: 4,
      symbols: [
        { symbol: 'A', score: 2, detail: 'x' },
        { symbol: 'B', score: 2 },
      ],
    });
    expect(JSON.parse(JSON.stringify(verdict))).toEqual(verdict);
  });

  it('uses configured thresholds', async () => {
    const defenses = [d('one', { check: async () => ({ kind: 'flag', findings: [{ symbol: 'B' }] }) })];
    expect((await createPipeline({ catalog, defenses }).run(sub, ctx())).verdict.action).toBe('accept_no_autoreply');
    expect((await createPipeline({ catalog, defenses, ladder: { accept_no_autoreply: 1, quarantine: 4 } }).run(sub, ctx())).verdict.action).toBe('quarantine');
    expect(() => createPipeline({ catalog, defenses, ladder: { quarantine: 20 } })).toThrow(/quarantine <= reject/);
  });

  it('a final result stops the pipeline and sets at least its action', async () => {
    const calls: string[] = [];
    const p = createPipeline({
      catalog,
      defenses: [
        d('blocker', {
          stage: 'pre',
          check: async () => {
            calls.push('blocker');
            return { kind: 'final', action: 'reject', reason: 'E_RATE_LIMIT', retryAfterSeconds: 30, findings: [{ symbol: 'A' }] };
          },
        }),
        d('later', {
          check: async () => {
            calls.push('later');
            return { kind: 'pass' };
          },
        }),
      ],
    });
    const r = await p.run(sub, ctx());
    expect(calls).toEqual(['blocker']);
    expect(r.verdict).toMatchObject({ action: 'reject', score: 2, finalBy: 'blocker', finalReason: 'E_RATE_LIMIT', retryAfterSeconds: 30 });
    expect(r.ran).toEqual(['blocker']);
  });

  it('the score can raise a final action', async () => {
    const p = createPipeline({
      catalog,
      defenses: [
        d('x', { check: async () => ({ kind: 'flag', findings: [{ symbol: 'BIG' }] }) }),
        d('q', { check: async () => ({ kind: 'final', action: 'quarantine', reason: 'R' }) }),
      ],
    });
    expect((await p.run(sub, ctx())).verdict.action).toBe('reject');
  });

  it('errors follow onError: fail-open records only, fail-closed => accept_no_autoreply, quarantine => quarantine', async () => {
    const boom = async (): Promise<never> => {
      throw new Error('boom');
    };
    for (const [onError, action] of [
      ['fail-open', 'accept'],
      ['fail-closed', 'accept_no_autoreply'],
      ['quarantine', 'quarantine'],
    ] as const) {
      const c = ctx();
      const after: string[] = [];
      const p = createPipeline({
        catalog,
        defenses: [
          d('broken', { onError, check: boom }),
          d('next', {
            check: async () => {
              after.push('next');
              return { kind: 'pass' };
            },
          }),
        ],
      });
      const r = await p.run(sub, c);
      expect(r.verdict.action).toBe(action);
      expect(r.verdict.symbols).toEqual([{ symbol: 'DEFENSE_ERROR:broken', score: 0.5, detail: 'boom' }]);
      expect(after).toEqual(['next']);
      expect(r.ran).toEqual(['next']);
      expect(c.warnings.join()).toMatch(/broken failed/);
    }
  });

  it('a check that never settles times out and aborts its signal', async () => {
    let aborted = false;
    const p = createPipeline({
      catalog,
      defenses: [
        d('slow', {
          timeoutMs: 20,
          onError: 'fail-closed',
          check: (_s, c) =>
            new Promise(() => {
              c.signal?.addEventListener('abort', () => {
                aborted = true;
              });
            }),
        }),
      ],
    });
    const r = await p.run(sub, ctx());
    expect(r.verdict.symbols[0]?.symbol).toBe('DEFENSE_TIMEOUT:slow');
    expect(r.verdict.action).toBe('accept_no_autoreply');
    expect(aborted).toBe(true);
  });

  it('each check of a run has its own signal: a timed-out check\'s abort does not reach the next one; prior is the run\'s findings so far', async () => {
    const seen: { name: string; signal: AbortSignal | undefined; prior: string[] }[] = [];
    const p = createPipeline({
      catalog,
      defenses: [
        d('first', { priority: 1, check: async (_s, c) => (seen.push({ name: 'first', signal: c.signal, prior: (c.prior ?? []).map((f) => f.symbol) }), { kind: 'flag', findings: [{ symbol: 'A' }] }) }),
        d('hangs', {
          priority: 2,
          timeoutMs: 20,
          onError: 'fail-open',
          check: (_s, c) => {
            seen.push({ name: 'hangs', signal: c.signal, prior: (c.prior ?? []).map((f) => f.symbol) });
            return new Promise(() => {});
          },
        }),
        d('after', { priority: 3, check: async (_s, c) => (seen.push({ name: 'after', signal: c.signal, prior: (c.prior ?? []).map((f) => f.symbol) }), { kind: 'pass' }) }),
      ],
    });
    const r = await p.run(sub, ctx());
    expect(r.verdict.symbols.map((f) => f.symbol)).toEqual(['A', 'DEFENSE_TIMEOUT:hangs']);
    expect(seen.map((x) => x.name)).toEqual(['first', 'hangs', 'after']);
    const [first, hangs, after] = seen;
    expect(hangs!.signal?.aborted).toBe(true);
    expect(first!.signal?.aborted).toBe(false);
    expect(after!.signal?.aborted).toBe(false);
    expect(new Set([first!.signal, hangs!.signal, after!.signal]).size).toBe(3);
    expect([first!.prior, hangs!.prior, after!.prior]).toEqual([[], ['A'], ['A', 'DEFENSE_TIMEOUT:hangs']]);
  });

  it('an invalid result is treated as an error', async () => {
    const p = createPipeline({ catalog, defenses: [d('bad', { onError: 'quarantine', check: async () => ({ kind: 'maybe' }) as never })] });
    expect((await p.run(sub, ctx())).verdict.action).toBe('quarantine');
  });

  it('minAction on a finding sets a floor', async () => {
    const p = createPipeline({
      catalog,
      defenses: [d('v', { check: async () => ({ kind: 'flag', findings: [{ symbol: 'A', minAction: 'accept_no_autoreply' }] }) })],
    });
    expect((await p.run(sub, ctx())).verdict).toMatchObject({ action: 'accept_no_autoreply', score: 2 });
  });

  it('unknown symbols score 0 and warn once; post-stage checks see prior findings', async () => {
    const c = ctx();
    let seen: string[] = [];
    const p = createPipeline({
      catalog,
      defenses: [
        d('x', { check: async () => ({ kind: 'flag', findings: [{ symbol: 'WHAT' }, { symbol: 'WHAT' }, { symbol: 'A' }] }) }),
        d('y', {
          stage: 'post',
          check: async (_s, cx) => {
            seen = (cx.prior ?? []).map((f) => f.symbol);
            return { kind: 'pass' };
          },
        }),
      ],
    });
    const r = await p.run(sub, c);
    expect(r.verdict.score).toBe(2);
    expect(c.warnings.filter((w) => w.includes('WHAT'))).toHaveLength(1);
    expect(seen).toEqual(['WHAT', 'WHAT', 'A']);
  });

  it('commit runs only for defenses that ran, in order, and swallows errors', async () => {
    const committed: string[] = [];
    const commit = (name: string) => async (_s: unknown, v: Verdict) => {
      committed.push(`${name}:${v.action}`);
    };
    const p = createPipeline({
      catalog,
      defenses: [
        d('a', { commit: commit('a') }),
        d('skipper', { check: async () => ({ kind: 'skip', reason: 'n/a' }), commit: commit('skipper') }),
        d('broken', {
          commit: async () => {
            throw new Error('x');
          },
        }),
        d('stop', { check: async () => ({ kind: 'final', action: 'reject', reason: 'R' }), commit: commit('stop') }),
        d('never', { commit: commit('never') }),
      ],
    });
    const c = ctx();
    const r = await p.run(sub, c);
    await p.commit(sub, r, c);
    expect(committed).toEqual(['a:reject', 'stop:reject']);
    expect(c.warnings.join()).toMatch(/broken commit failed/);
  });

  it('onlyForForms skips the defense for other forms', async () => {
    const flagging = d('f', { check: async () => ({ kind: 'flag', findings: [{ symbol: 'B' }] }), commit: async () => {} });
    const p = createPipeline({ catalog, defenses: [onlyForForms(flagging, ['contact'])] });
    expect((await p.run(makeSubmission({ formId: 'contact' }), ctx())).verdict.score).toBe(4);
    const other = await p.run(makeSubmission({ formId: 'other' }), ctx());
    expect(other.verdict.score).toBe(0);
    expect(other.ran).toEqual([]);
  });

  describe('prechecks (cheap rejection first)', () => {
    it('a final precheck ends the run before any check; the defenses prechecked up to it are committed', async () => {
      const checks: string[] = [];
      const committed: string[] = [];
      const p = createPipeline({
        catalog,
        defenses: [
          d('lists', {
            stage: 'pre',
            precheck: () => ({ kind: 'pass', findings: [{ symbol: 'A' }] }),
            check: async () => (checks.push('lists'), { kind: 'pass' }),
            commit: async (_s, v) => void committed.push(`lists:${v.finalBy}`),
          }),
          d('limits', { stage: 'pre', check: async () => (checks.push('limits'), { kind: 'pass' }), commit: async () => void committed.push('limits') }),
          d('token', {
            precheck: (s) => (s.token ? undefined : { kind: 'final', action: 'reject', reason: 'E_NO', findings: [{ symbol: 'B' }] }),
            check: async () => (checks.push('token'), { kind: 'pass' }),
          }),
        ],
      });
      const c = ctx();
      const r = await p.run(sub, c);
      expect(checks).toEqual([]);
      expect(r.verdict).toEqual({
        action: 'reject',
        score: 6,
        symbols: [
          { symbol: 'A', score: 2 },
          { symbol: 'B', score: 4 },
        ],
        finalBy: 'token',
        finalReason: 'E_NO',
      });
      expect(r.ran).toEqual(['lists', 'token']);
      await p.commit(sub, r, c);
      expect(committed).toEqual(['lists:token']);

      // With a token no precheck is final: they leave no trace and every check runs.
      const ok = await p.run(makeSubmission({ formId: 'contact', token: 't' }), ctx());
      expect(checks).toEqual(['lists', 'limits', 'token']);
      expect(ok.verdict).toEqual({ action: 'accept', score: 0, symbols: [] });
      expect(ok.ran).toEqual(['lists', 'limits', 'token']);
    });

    it('a precheck that throws is ignored (its check runs and reports); onlyForForms applies to prechecks', async () => {
      const p = createPipeline({
        catalog,
        defenses: [
          d('boom', {
            precheck: () => {
              throw new Error('x');
            },
          }),
          onlyForForms(d('stop', { precheck: () => ({ kind: 'final', action: 'reject', reason: 'E_STOP' }) }), ['contact']),
        ],
      });
      expect((await p.run(makeSubmission({ formId: 'contact' }), ctx())).verdict.finalReason).toBe('E_STOP');
      const other = await p.run(makeSubmission({ formId: 'other' }), ctx());
      expect(other.verdict.finalReason).toBeUndefined();
      expect(other.ran).toEqual(['boom']);
    });
  });
});
