// The attack scenarios and the genuine visitor: what one attempt of each sends, from which address.
import { postSubmission, prepareForm, waitMinFill, type PreparedForm } from '../../src/client/protocol.js';
import type { Challenge } from 'altcha-lib';
import type { HttpClient } from './http.js';
import { CLOSERS, genuineVisitor, injectionPayload, needlesOf, rng, spam, victim } from './text.js';

export const KINDS = ['naive', 'replay', 'too-fast', 'honeypot', 'solver', 'distributed', 'victims', 'inject', 'oversize', 'slow', 'genuine'] as const;
export type Kind = (typeof KINDS)[number];

export const DESCRIPTIONS: Record<Kind, string> = {
  naive: 'posts the fields with no token (never fetched the challenge)',
  replay: 'one real token + proof-of-work, posted again and again (50 posts per token)',
  'too-fast': 'fetches a token and posts at once (no proof-of-work, no wait)',
  honeypot: 'fetches a token, waits, fills the honeypot field(s) with a URL (no proof-of-work)',
  solver: 'full protocol (token, proof-of-work, wait, honeypot empty) from ONE address',
  distributed: 'full protocol spread over its addresses, at most --per-address posts each; victims at 5 domains',
  victims: 'full protocol spread like distributed; distinct victims across 100 domains',
  inject: 'full protocol with header-injection / SMTP-smuggling payloads (recipients at injected.example)',
  oversize: 'a JSON body above the body limit (content-length and chunked, alternately)',
  slow: 'a body sent one byte at a time; the simulator gives up after --slow-seconds',
  genuine: 'a person: own address in its own /24, Japanese inquiry, full protocol, waits a little longer',
};

export interface ScenarioSpec {
  kind: Kind;
  /** Attempts to make (Infinity: until the run's duration ends). */
  count: number;
  /** Attempts started per second (0: as fast as `concurrency` allows). */
  rate: number;
  concurrency: number;
  /** How many source addresses of the bot pool this scenario uses (genuine visitors have their own). */
  addresses: number;
}

export interface Attempt {
  kind: Kind;
  i: number;
  address: string;
  /** HTTP status as text, 'error:<code>' for a socket error, or for slow bodies 'gave-up' / 'closed'. */
  status: string;
  /** error.code from a JSON error answer. */
  code?: string;
  /** Submission id from a 201. */
  id?: string;
  /** Latency of the POST (ms). */
  ms?: number;
  /** Latency of the challenge GET (ms). */
  challengeMs?: number;
  /** What was typed, to search for in strangers' mail. */
  needles: string[];
}

export interface ScenarioContext {
  client: HttpClient;
  formId: string;
  seed: number;
  perAddressMax: number;
  oversizeKb: number;
  slow: { bytes: number; everyMs: number; maxSeconds: number };
  /** Extra wait (max, ms) a genuine visitor takes after the minimum fill time. */
  thinkMs: number;
  /** Proof-of-work solver (a worker pool); default the reference client's, on this thread. */
  solver?: (challenge: Challenge) => Promise<string | null>;
  /** The replayers' prepared forms, one per 50 posts (filled as they go). */
  replayForms: Map<number, Promise<PreparedForm>>;
}

const SUBMIT = (formId: string) => `/api/forms/${encodeURIComponent(formId)}/submissions`;
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

function parseAnswer(status: number, body: string): { code?: string; id?: string } {
  try {
    const j = JSON.parse(body) as { id?: string; error?: { code?: string } };
    return { code: j.error?.code, id: typeof j.id === 'string' ? j.id : undefined };
  } catch {
    return {};
  }
}

async function post(ctx: ScenarioContext, address: string, fields: Record<string, string>): Promise<Pick<Attempt, 'status' | 'code' | 'id' | 'ms'>> {
  const t0 = performance.now();
  try {
    const res = await postSubmission(ctx.client.base.origin, ctx.formId, fields, { fetch: ctx.client.fetchFrom(address) });
    const body = await res.text();
    return { status: String(res.status), ms: performance.now() - t0, ...parseAnswer(res.status, body) };
  } catch (e) {
    return { status: `error:${(e as { code?: string }).code ?? 'unknown'}`, ms: performance.now() - t0 };
  }
}

async function prepare(ctx: ScenarioContext, address: string, solve: boolean): Promise<{ prepared: PreparedForm; ms: number }> {
  // Time the challenge request itself, not the proof-of-work that follows.
  let ms = Number.NaN;
  const inner = ctx.client.fetchFrom(address);
  const timed = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const t0 = performance.now();
    const res = await inner(input, init);
    ms = performance.now() - t0;
    return res;
  }) as typeof fetch;
  const prepared = await prepareForm(ctx.client.base.origin, ctx.formId, { fetch: timed, solve, ...(ctx.solver ? { solver: ctx.solver } : {}) });
  return { prepared, ms };
}

const honeypotNames = (p: PreparedForm) => Object.keys(p.fields).filter((k) => k !== '_token' && k !== 'altcha');

export async function runAttempt(ctx: ScenarioContext, kind: Kind, i: number, address: string): Promise<Attempt> {
  const base = { kind, i, address };
  const s = spam(ctx.seed, kind, i);
  const botFields = (email: string) => ({ name: s.name, email, message: s.message });
  try {
    switch (kind) {
      case 'naive': {
        const fields = { ...botFields(victim(ctx.seed, i)), website: '' };
        return { ...base, ...(await post(ctx, address, fields)), needles: needlesOf(fields) };
      }
      case 'replay': {
        const key = Math.floor(i / 50);
        let p = ctx.replayForms.get(key);
        if (!p) {
          p = prepare(ctx, address, true).then(async (r) => (await waitMinFill(r.prepared), r.prepared));
          ctx.replayForms.set(key, p);
        }
        const prepared = await p;
        const fields = { ...botFields(victim(ctx.seed + 1, i)), ...prepared.fields };
        return { ...base, ...(await post(ctx, address, fields)), needles: needlesOf(fields) };
      }
      case 'too-fast': {
        const { prepared, ms } = await prepare(ctx, address, false);
        const fields = { ...botFields(victim(ctx.seed + 2, i)), ...prepared.fields };
        return { ...base, challengeMs: ms, ...(await post(ctx, address, fields)), needles: needlesOf(fields) };
      }
      case 'honeypot': {
        const { prepared, ms } = await prepare(ctx, address, false);
        await waitMinFill(prepared);
        const fields: Record<string, string> = { ...botFields(victim(ctx.seed + 3, i)), ...prepared.fields };
        for (const h of honeypotNames(prepared)) fields[h] = s.url;
        return { ...base, challengeMs: ms, ...(await post(ctx, address, fields)), needles: needlesOf(fields) };
      }
      case 'solver':
      case 'distributed':
      case 'victims':
      case 'inject': {
        const typed =
          kind === 'inject' ? injectionPayload(i, ctx.seed) : botFields(kind === 'victims' ? victim(ctx.seed + 4, i, 100) : kind === 'distributed' ? victim(ctx.seed + 5, i, 5) : victim(ctx.seed + 6, i));
        const { prepared, ms } = await prepare(ctx, address, true);
        await waitMinFill(prepared);
        const fields = { ...typed, ...prepared.fields };
        return { ...base, challengeMs: ms, ...(await post(ctx, address, fields)), needles: needlesOf(fields) };
      }
      case 'oversize': {
        const fields = { ...botFields(victim(ctx.seed + 7, i)), message: `${s.message} ${'x'.repeat(ctx.oversizeKb * 1024)}` };
        const body = JSON.stringify(fields);
        const chunked = i % 2 === 1;
        const t0 = performance.now();
        try {
          const a = await ctx.client.request(address, 'POST', SUBMIT(ctx.formId), {
            headers: chunked ? { ...JSON_HEADERS, 'transfer-encoding': 'chunked' } : JSON_HEADERS,
            body,
            chunked,
          });
          return { ...base, status: String(a.status), ms: a.ms, ...parseAnswer(a.status, a.body), needles: needlesOf({ name: s.name }) };
        } catch (e) {
          return { ...base, status: `error:${(e as { code?: string }).code ?? 'unknown'}`, ms: performance.now() - t0, needles: needlesOf({ name: s.name }) };
        }
      }
      case 'slow': {
        const r = await ctx.client.slowBody(address, SUBMIT(ctx.formId), ctx.slow);
        return { ...base, status: r.outcome, ms: r.ms, needles: [] };
      }
      case 'genuine': {
        const typed = genuineVisitor(ctx.seed, i);
        const { prepared, ms } = await prepare(ctx, address, true);
        await waitMinFill(prepared);
        const think = Math.floor(rng(ctx.seed * 31 + i)() * ctx.thinkMs);
        if (think > 0) await new Promise((r) => setTimeout(r, think));
        const fields = { ...typed, ...prepared.fields };
        return { ...base, challengeMs: ms, ...(await post(ctx, address, fields)), needles: needlesOf(fields).filter((n) => !CLOSERS.includes(n)) };
      }
    }
  } catch (e) {
    const code = (e as { code?: string }).code ?? (/HTTP (\d{3})/.exec(String((e as Error).message))?.[1] ? `challenge-${/HTTP (\d{3})/.exec(String((e as Error).message))![1]}` : 'unknown');
    return { ...base, status: `error:${code}`, needles: [] };
  }
}

/**
 * Source addresses. Bots: 127.0.0.2 .. 127.0.0.254 (one /24, as the brief asks), or with
 * `networks: 'many'` one /24 each (127.100.x.2). Genuine visitor i: 127.1.i.10 onwards, its own /24.
 */
export function botAddress(k: number, networks: 'one' | 'many'): string {
  if (networks === 'one') return `127.0.0.${2 + (k % 253)}`;
  return `127.${100 + Math.floor(k / 254)}.${(k % 254) + 1}.2`;
}
export const visitorAddress = (i: number): string => `127.${1 + Math.floor(i / 254)}.${(i % 254) + 1}.10`;
