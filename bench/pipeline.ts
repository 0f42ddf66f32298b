// Issue part 3 "Speed", in process (no HTTP): the decision pipeline's own cost.
//   1. p50/p99 latency of `pipeline.run()` for a clean submission with the default defenses (memory stores),
//      built with buildDefenses() as createInstance builds them; every default except generous rate limits
//      (the runs come from a few addresses). Each run gets a fresh form token (issued 10 s earlier) and a
//      fresh ALTCHA solution, since both are single use.
//   2. ALTCHA verification time per call (`altcha.verify()`, the defense at its default difficulty), with
//      fresh payloads and the in-memory replay store, and a check that the time does not depend on the
//      difficulty the payload was made with (deterministic mode: verifying is two HMACs, no key derivation).
import { CONTACT_FORMS_YAML, MESSAGES, NAMES } from './lib/forms.js';
import { randomBytes } from 'node:crypto';
import { parseConfigText } from '../src/config/load.js';
import { solveAltcha } from '../src/client/protocol.js';
import { createAltchaDefense, type AltchaDefense } from '../src/defenses/altcha/index.js';
import { buildDefenses, deriveKey, type Defenses } from '../src/defenses/setup.js';
import { MemoryReplayStore, type ReplayStore, type Submission } from '../src/pipeline/index.js';
import { systemClock } from '../src/util/clock.js';
import { median, round } from './lib/stats.js';
import { goal, type BenchModule, type Row } from './lib/types.js';

const P99_GOAL_MS = 0.5;
const VERIFY_GOAL_US = 100;

const GENEROUS_RATE_LIMITS = `
  rateLimit:
    rules:
      - { scope: address, points: 1000000000, durationSeconds: 600 }
      - { scope: network, points: 1000000000, durationSeconds: 600 }
      - { scope: address, name: address-attempts, points: 1000000000, durationSeconds: 600, charge: attempt }
      - { scope: form, points: 1000000000, durationSeconds: 3600 }
      - { scope: global, points: 1000000000, durationSeconds: 3600 }
`;

const CONFIG = `
siteName: Example Shop
server: { host: 127.0.0.1, port: 0, publicUrl: "http://127.0.0.1:8787", logLevel: silent }
database: { url: "sqlite:./unused-by-this-bench.db" }
mail:
  from: "Example Shop <info@example.jp>"
  transport: capture
defenses:
${GENEROUS_RATE_LIMITS}
${CONTACT_FORMS_YAML.trim()}
`;

const FORM_ID = 'contact';
// Addresses in Japanese ISP ranges (the bundled country database says JP), so geo scores nothing.
const ADDRESSES = ['126.0.0.1', '126.12.34.56', '133.11.0.1', '153.156.0.9', '180.0.0.1', '219.100.37.1', '60.32.0.1', '114.160.0.5'];
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

/** Percentile (nearest rank) of sorted values. */
function pct(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const sortedCopy = (xs: number[]) => Float64Array.from(xs).sort();

/** Solved ALTCHA payloads, `concurrency` solves at a time (PBKDF2 runs in libuv's thread pool). */
async function solvedPayloads(issuer: AltchaDefense, count: number, concurrency = 16): Promise<string[]> {
  const out: string[] = [];
  while (out.length < count) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(concurrency, count - out.length) }, async () => {
        const p = await solveAltcha(await issuer.createChallenge(FORM_ID));
        if (!p) throw new Error('ALTCHA: the solver found no solution');
        return p;
      }),
    );
    out.push(...batch);
  }
  return out;
}

function submission(i: number, tokens: Defenses['tokens'], altcha: string | undefined): Submission {
  const now = Date.now();
  const message = `${MESSAGES[i % MESSAGES.length]!} (お問い合わせ番号 ${i + 1})`;
  return {
    formId: FORM_ID,
    fields: { name: NAMES[i % NAMES.length]!, email: `visitor${i + 1}@example.jp`, message },
    ip: ADDRESSES[i % ADDRESSES.length]!,
    userAgent: UA,
    receivedAt: new Date(now),
    token: tokens.issueToken(FORM_ID, new Date(now - 10_000)),
    ...(altcha ? { altcha } : {}),
    honeypot: { website: '' },
    captcha: {},
    lang: 'ja',
    headers: { 'user-agent': UA, referer: 'https://www.example.jp/contact', origin: undefined, 'accept-language': 'ja,en-US;q=0.8' },
  };
}

const noReplay: ReplayStore = { useOnce: async () => true, release: async () => {} };

export const pipelineBench: BenchModule = {
  id: 'pipeline',
  title: 'Pipeline cost, in process (issue part 3)',
  async run(ctx) {
    const quick = ctx.settings.quick;
    const warmRuns = quick ? 500 : 2_000;
    const rounds = quick ? 2 : 5;
    const perRound = quick ? 1_000 : 4_000;
    const config = parseConfigText(CONFIG, 'bench');
    const tokenKey = randomBytes(36).toString('base64url');
    const defenses = buildDefenses(config, tokenKey, { clock: systemClock });
    if (!defenses.altcha) throw new Error('ALTCHA is not enabled by default any more: this bench expects it');
    const altcha = defenses.altcha;
    const d = config.defenses.altcha;
    // Same key as the defense (so its payloads verify), easy challenges: the counter is drawn from 0..2 and
    // each attempt is one PBKDF2 round. Verification does not depend on either (see part 2 below).
    const cheapIssuer = createAltchaDefense({ hmacSecret: deriveKey(tokenKey, 'altcha'), ...(d.algorithm ? { algorithm: d.algorithm } : {}), cost: 1, minNumber: 0, maxNumber: 2 });

    // ---- 1. pipeline.run() for a clean submission
    const total = warmRuns + rounds * perRound;
    let t0 = performance.now();
    const payloads = await solvedPayloads(cheapIssuer, total);
    const prepSeconds = (performance.now() - t0) / 1000;
    ctx.log(`  ${total} ALTCHA payloads made and solved in ${prepSeconds.toFixed(1)} s`);
    const defenseNames = defenses.pipeline.defenses.map((x) => x.name);

    const runMs: number[][] = [];
    const commitMs: number[] = [];
    const verdicts = new Map<string, number>();
    let notClean = 0;
    let example = '';
    for (let r = -1; r < rounds; r++) {
      const n = r < 0 ? warmRuns : perRound;
      const times: number[] = [];
      const base = r < 0 ? 0 : warmRuns + r * perRound;
      for (let k = 0; k < n; k++) {
        const i = base + k;
        const sub = submission(i, defenses.tokens, payloads[i]);
        const a = process.hrtime.bigint();
        const result = await defenses.pipeline.run(sub, defenses.context());
        const b = process.hrtime.bigint();
        await defenses.pipeline.commit(sub, result, defenses.context());
        const c = process.hrtime.bigint();
        payloads[i] = ''; // let the payload go
        if (r < 0) continue;
        times.push(Number(b - a) / 1e6);
        commitMs.push(Number(c - b) / 1e6);
        const v = result.verdict;
        const key = `${v.action}${v.symbols.length ? ` [${v.symbols.map((s) => s.symbol).join(', ')}]` : ''}`;
        verdicts.set(key, (verdicts.get(key) ?? 0) + 1);
        if (v.action !== 'accept' || v.score !== 0 || v.symbols.length > 0) {
          notClean++;
          example ||= JSON.stringify(v).slice(0, 300);
        }
      }
      if (r >= 0) {
        runMs.push(times);
        const s = sortedCopy(times);
        ctx.log(`  round ${r + 1}/${rounds}: pipeline.run() p50 ${pct(s, 50).toFixed(3)} ms, p99 ${pct(s, 99).toFixed(3)} ms (${n} runs)`);
      }
    }
    const all = sortedCopy(runMs.flat());
    const p50 = pct(all, 50);
    const p99 = pct(all, 99);
    const commits = sortedCopy(commitMs);

    // Where the time goes: each defense's check() alone, on fresh submissions (untimed setup as above).
    const perDefense: string[] = [];
    const dRuns = quick ? 300 : 1_000;
    const dPayloads = await solvedPayloads(cheapIssuer, dRuns);
    for (const def of defenses.pipeline.defenses) {
      const times: number[] = [];
      for (let k = 0; k < dRuns; k++) {
        const i = total + k;
        const sub = submission(i, defenses.tokens, def.name === 'altcha' ? dPayloads[k] : undefined);
        const c = { ...defenses.context(), signal: new AbortController().signal, prior: [] };
        const a = process.hrtime.bigint();
        await def.check(sub, c);
        times.push(Number(process.hrtime.bigint() - a) / 1e3);
      }
      const st = sortedCopy(times);
      perDefense.push(`${def.name} ${round(pct(st, 50), 1)} / ${round(pct(st, 99), 1)}`);
    }
    ctx.log(`  check() alone, p50 / p99 µs: ${perDefense.join('; ')}`);

    // ---- 2. altcha.verify()
    const vRounds = quick ? 3 : 7;
    const vPer = quick ? 300 : 1_000;
    const vWarm = quick ? 200 : 1_000;
    t0 = performance.now();
    const vPayloads = await solvedPayloads(cheapIssuer, vWarm + vRounds * vPer);
    ctx.log(`  ${vPayloads.length} more payloads for verify() in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const replay = new MemoryReplayStore();
    let verifyFailures = 0;
    const verifyUs: number[] = [];
    const perCall: number[] = [];
    for (let r = -1; r < vRounds; r++) {
      const n = r < 0 ? vWarm : vPer;
      const base = r < 0 ? 0 : vWarm + r * vPer;
      const a = process.hrtime.bigint();
      for (let k = 0; k < n; k++) {
        const c0 = process.hrtime.bigint();
        const res = await altcha.verify(vPayloads[base + k], FORM_ID, replay);
        if (r >= 0) perCall.push(Number(process.hrtime.bigint() - c0) / 1e3);
        if (!res.ok) verifyFailures++;
      }
      const us = Number(process.hrtime.bigint() - a) / 1e3 / n;
      if (r >= 0) verifyUs.push(us);
    }
    const verifyMedian = median(verifyUs);
    ctx.log(`  altcha.verify(): ${verifyUs.map((u) => u.toFixed(1)).join(', ')} µs/call per round; ${verifyFailures} failed`);

    // Difficulty check: a few payloads at the defense's own (default) difficulty, against as many cheap ones,
    // each verified repeatedly with a replay store that accepts everything, rounds alternating.
    const hardCount = quick ? 2 : 4;
    t0 = performance.now();
    const hard = await solvedPayloads(altcha, hardCount, hardCount);
    const hardSolveS = (performance.now() - t0) / 1000;
    const cheap = await solvedPayloads(cheapIssuer, hardCount);
    const reps = quick ? 300 : 1_000;
    const timeSet = async (set: string[]) => {
      let failed = 0;
      const a = process.hrtime.bigint();
      for (let k = 0; k < reps; k++) for (const p of set) if (!(await altcha.verify(p, FORM_ID, noReplay)).ok) failed++;
      return { us: Number(process.hrtime.bigint() - a) / 1e3 / (reps * set.length), failed };
    };
    await timeSet(cheap);
    await timeSet(hard);
    const cheapUs: number[] = [];
    const hardUs: number[] = [];
    let diffFailures = 0;
    for (let r = 0; r < vRounds; r++) {
      for (const which of r % 2 === 0 ? ['cheap', 'hard'] : ['hard', 'cheap']) {
        const res = await timeSet(which === 'cheap' ? cheap : hard);
        (which === 'cheap' ? cheapUs : hardUs).push(res.us);
        diffFailures += res.failed;
      }
    }
    const cheapMed = median(cheapUs);
    const hardMed = median(hardUs);
    const diffRatio = hardMed / cheapMed;
    ctx.log(`  difficulty check: default-difficulty payloads ${hardMed.toFixed(1)} µs/call, cheap ${cheapMed.toFixed(1)} µs/call (ratio ${diffRatio.toFixed(3)}); solving ${hardCount} default ones took ${hardSolveS.toFixed(1)} s`);

    const rows: Row[] = [
      {
        name: 'pipeline.run(), clean submission, default defenses: p50',
        value: p50,
        unit: 'ms',
        note: `${all.length} runs after ${warmRuns} warm-up runs; in process`,
      },
      {
        name: 'pipeline.run(), clean submission, default defenses: p99',
        value: p99,
        unit: 'ms',
        ...goal(p99, '<', P99_GOAL_MS),
        note: `median of per-round p99: ${round(median(runMs.map((t) => pct(sortedCopy(t), 99))), 3)} ms`,
      },
      {
        name: 'Pipeline runs whose verdict was not a clean accept (score 0, no symbols)',
        value: notClean,
        unit: 'count',
        ...goal(notClean, '=', 0),
      },
      {
        name: 'altcha.verify(), valid fresh payload, default difficulty settings (µs per call)',
        value: verifyMedian,
        unit: 'µs',
        ...goal(verifyMedian, '<', VERIFY_GOAL_US),
        note: `median of ${vRounds} rounds × ${vPer} calls; ${verifyFailures} verifications failed`,
      },
      {
        name: 'altcha.verify() of default-difficulty payloads vs easy ones (µs per call)',
        value: hardMed,
        unit: 'µs',
        baseline: { name: 'easy payloads (counter 0..2, cost 1)', value: cheapMed },
        ratio: diffRatio,
        note: `same verifier, replay check stubbed; ${diffFailures} failed`,
      },
    ];

    const verdictList = [...verdicts.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join('; ');
    const details = [
      `- \`buildDefenses()\` (as createInstance calls it) with every default except the rate-limit rules (the five default scopes with 10⁹ points; the runs come from ${ADDRESSES.length} addresses): ` +
        `defenses in run order: ${defenseNames.join(' → ')}. Memory stores (no Redis). Timed: \`await pipeline.run(sub, defenses.context())\`, with \`pipeline.commit()\` after it (untimed, as intake does).`,
      `- Each run: a new submission of the contact form (distinct name, address and message), from a Japanese ISP address, a fresh form token issued 10 s earlier, ` +
        `and a fresh ALTCHA solution. The solutions are made before the timing with the same key but easy challenges (counter 0..2, cost 1: ${total} made and solved in ${round(prepSeconds, 1)} s); ` +
        `the defense verifies them at its own default settings, and verification does not depend on the difficulty (below).`,
      `- ${rounds} rounds × ${perRound} runs after ${warmRuns} warm-up runs. Per round p50 / p99 (ms): ${runMs
        .map((t) => {
          const s = sortedCopy(t);
          return `${round(pct(s, 50), 3)} / ${round(pct(s, 99), 3)}`;
        })
        .join('; ')}. All ${all.length} runs: p50 ${round(p50, 3)}, p90 ${round(pct(all, 90), 3)}, p99 ${round(p99, 3)}, p99.9 ${round(pct(all, 99.9), 3)}, max ${round(all[all.length - 1] ?? Number.NaN, 3)} ms.`,
      `- Each defense's \`check()\` alone (${dRuns} fresh submissions each, run order), p50 / p99 in µs: ${perDefense.join('; ')}. The rest of a run is the runner (synchronous prechecks, a timer per defense, scoring).`,
      `- \`pipeline.commit()\` after each run: p50 ${round(pct(commits, 50), 3)} ms, p99 ${round(pct(commits, 99), 3)} ms.`,
      `- Verdicts: ${verdictList}.${example ? ` First not clean: \`${example}\`.` : ''}`,
      `- \`altcha.verify()\`: the pipeline's ALTCHA defense (algorithm ${altcha.difficulty(FORM_ID).algorithm}, cost ${altcha.difficulty(FORM_ID).cost}, counter ${altcha.difficulty(FORM_ID).minNumber}..${altcha.difficulty(FORM_ID).maxNumber}), ` +
        `each call on a fresh solved payload with the in-memory replay store (parse + challenge HMAC + key-signature HMAC + single-use check). ` +
        `${vRounds} rounds × ${vPer} calls after ${vWarm}: ${verifyUs.map((u) => round(u, 1)).join(', ')} µs per call (round time / calls). ` +
        `Single calls: p50 ${round(pct(sortedCopy(perCall), 50), 1)} µs, p99 ${round(pct(sortedCopy(perCall), 99), 1)} µs. altcha-lib computes both HMACs with WebCrypto (\`crypto.subtle\`), which Node runs as async jobs on its thread pool.`,
      `- Difficulty check: ${hardCount} payloads made by the defense itself at its default difficulty (solving them took ${round(hardSolveS, 1)} s) and ${hardCount} easy ones, each verified ${reps} times per round ` +
        `with the replay check stubbed out (so payloads can be reused), ${vRounds} rounds alternating: default ${hardUs.map((u) => round(u, 1)).join(', ')} µs; easy ${cheapUs.map((u) => round(u, 1)).join(', ')} µs; ` +
        `ratio of medians ${round(diffRatio, 3)}. In altcha-lib 2's deterministic mode a challenge carries a signature of the derived key, so \`verifySolution\` checks two HMACs and never re-derives the key: the cost (PBKDF2 rounds) and the counter range do not enter.`,
    ];
    return { rows, details };
  },
};
