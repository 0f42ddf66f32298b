// A check or commit may answer synchronously (no I/O, no promise): the run must come out exactly as if it had
// answered through a promise, for every mix of results, errors and commits.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCheckContext, makeSubmission } from './context.js';
import { createPipeline } from './runner.js';
import type { CheckResult, Defense, OnError, SymbolCatalog, Verdict } from './types.js';

const catalog: SymbolCatalog = {
  A: { score: 2, description: { en: 'a', ja: 'a' } },
  B: { score: 4, description: { en: 'b', ja: 'b' } },
  BIG: { score: 11, description: { en: 'big', ja: 'big' } },
  DEFENSE_ERROR: { score: 0.5, description: { en: 'err', ja: 'err' } },
};

type Answer = { result: CheckResult } | { throws: string } | { invalid: true };
interface Spec {
  answer: Answer;
  onError: OnError;
  commit: 'none' | 'ok' | 'throws';
}

const finding = fc.record({ symbol: fc.constantFrom('A', 'B', 'BIG', 'UNKNOWN'), weight: fc.option(fc.constantFrom(0.5, 1, 2), { nil: undefined }) }, { requiredKeys: ['symbol'] });
const result: fc.Arbitrary<CheckResult> = fc.oneof(
  fc.constant<CheckResult>({ kind: 'pass' }),
  fc.constant<CheckResult>({ kind: 'skip', reason: 'n/a' }),
  fc.array(finding, { minLength: 1, maxLength: 3 }).map((findings): CheckResult => ({ kind: 'flag', findings })),
  fc.constantFrom('accept_no_autoreply', 'quarantine', 'reject').map((action): CheckResult => ({ kind: 'final', action: action as 'reject', reason: `R_${action}` })),
);
const spec: fc.Arbitrary<Spec> = fc.record({
  answer: fc.oneof({ weight: 6, arbitrary: result.map((r): Answer => ({ result: r })) }, { weight: 1, arbitrary: fc.constant<Answer>({ throws: 'boom' }) }, { weight: 1, arbitrary: fc.constant<Answer>({ invalid: true }) }),
  onError: fc.constantFrom<OnError>('fail-open', 'fail-closed', 'quarantine'),
  commit: fc.constantFrom('none', 'ok', 'throws'),
});

/** The defenses of the specs, each answering synchronously or through a promise as `sync` says. */
function defensesOf(specs: Spec[], sync: boolean[], log: string[]): Defense[] {
  return specs.map((s, i) => {
    const name = `d${i}`;
    const answer = (): CheckResult => {
      log.push(`check ${name}`);
      if ('throws' in s.answer) throw new Error(s.answer.throws);
      if ('invalid' in s.answer) return { kind: 'maybe' } as unknown as CheckResult;
      return structuredClone(s.answer.result);
    };
    const commitNow = (_sub: unknown, v: Verdict) => {
      log.push(`commit ${name} ${v.action}`);
      if (s.commit === 'throws') throw new Error('commit boom');
    };
    return {
      name,
      stage: 'main',
      onError: s.onError,
      symbols: ['A', 'B', 'BIG'],
      check: sync[i] ? answer : async () => answer(),
      ...(s.commit === 'none' ? {} : { commit: sync[i] ? commitNow : async (sub: unknown, v: Verdict) => commitNow(sub, v) }),
    };
  });
}

async function runAll(specs: Spec[], sync: boolean[]) {
  const log: string[] = [];
  const warnings: string[] = [];
  const ctx = createCheckContext({ warn: (m) => warnings.push(m) });
  const pipeline = createPipeline({ catalog, defenses: defensesOf(specs, sync, log) });
  const sub = makeSubmission({ formId: 'contact' });
  const run = await pipeline.run(sub, ctx);
  await pipeline.commit(sub, run, ctx);
  return { run, log, warnings };
}

describe('synchronous checks and commits', () => {
  it('a run comes out the same whichever checks and commits answer synchronously', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(spec, { minLength: 1, maxLength: 6 }).chain((specs) => fc.tuple(fc.constant(specs), fc.array(fc.boolean(), { minLength: specs.length, maxLength: specs.length }))),
        async ([specs, sync]) => {
          const viaPromises = await runAll(specs, specs.map(() => false));
          const mixed = await runAll(specs, sync);
          expect(mixed).toEqual(viaPromises);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a synchronous check that throws, or answers no result, is an error of its defense, handled by its onError', async () => {
    const specs: Spec[] = [
      { answer: { throws: 'boom' }, onError: 'fail-closed', commit: 'ok' },
      { answer: { invalid: true }, onError: 'quarantine', commit: 'ok' },
      { answer: { result: { kind: 'pass' } }, onError: 'fail-open', commit: 'ok' },
    ];
    const { run, log, warnings } = await runAll(specs, [true, true, true]);
    expect(run.verdict.action).toBe('quarantine');
    expect(run.verdict.symbols.map((s) => s.symbol)).toEqual(['DEFENSE_ERROR:d0', 'DEFENSE_ERROR:d1']);
    expect(run.ran).toEqual(['d2']);
    // Only the defense that ran is committed.
    expect(log).toEqual(['check d0', 'check d1', 'check d2', 'commit d2 quarantine']);
    expect(warnings.join('\n')).toMatch(/d0 failed[\s\S]*d1 failed/);
  });
});
