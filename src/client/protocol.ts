// The reference client of the form protocol, used by `formwarden submit`, the attack simulator and
// the tests: fetch the challenge (token, honeypot names, ALTCHA), solve the proof-of-work, wait the
// minimum fill time, then post exactly what the hosted page posts.
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey as pbkdf2 } from 'altcha-lib/algorithms/pbkdf2';
import { deriveKey as sha } from 'altcha-lib/algorithms/sha';

export interface ChallengeAnswer {
  token: string | null;
  honeypot: string[];
  minFillSeconds: number;
  altcha: Challenge | null;
}

export interface PreparedForm {
  /** Protocol fields to post with the visitor's fields. */
  fields: Record<string, string>;
  /** When the token was fetched (ms since epoch). */
  fetchedAt: number;
  minFillSeconds: number;
}

export interface ClientOptions {
  headers?: Record<string, string>;
  /** Solve the proof-of-work (default true). */
  solve?: boolean;
  /** Another solver (e.g. in a worker thread); default solveAltcha. */
  solver?: (challenge: Challenge) => Promise<string | null>;
  fetch?: typeof fetch;
}

/** The `altcha` field the widget posts: the challenge and its solution, base64 JSON. */
export function altchaPayload(challenge: Challenge, solution: unknown): string {
  return Buffer.from(JSON.stringify({ challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution })).toString('base64');
}

export async function solveAltcha(challenge: Challenge): Promise<string | null> {
  const algorithm = String(challenge.parameters.algorithm ?? '');
  const deriveKey = algorithm.startsWith('PBKDF2') ? pbkdf2 : sha;
  const solution = await solveChallenge({ challenge, deriveKey });
  if (!solution) return null;
  return altchaPayload(challenge, solution);
}

export async function prepareForm(baseUrl: string, formId: string, opts: ClientOptions = {}): Promise<PreparedForm> {
  const doFetch = opts.fetch ?? fetch;
  const res = await doFetch(`${baseUrl.replace(/\/+$/, '')}/api/forms/${encodeURIComponent(formId)}/challenge`, { headers: { accept: 'application/json', ...(opts.headers ?? {}) } });
  if (!res.ok) throw new Error(`challenge: HTTP ${res.status} ${await res.text()}`);
  const answer = (await res.json()) as ChallengeAnswer;
  const fields: Record<string, string> = {};
  if (answer.token) fields._token = answer.token;
  for (const name of answer.honeypot) fields[name] = '';
  if (answer.altcha && opts.solve !== false) {
    const payload = await (opts.solver ?? solveAltcha)(answer.altcha);
    if (payload) fields.altcha = payload;
  }
  return { fields, fetchedAt: Date.now(), minFillSeconds: answer.minFillSeconds };
}

/** Waits until the minimum fill time since the token was fetched has passed. */
export async function waitMinFill(prepared: PreparedForm): Promise<void> {
  const due = prepared.fetchedAt + prepared.minFillSeconds * 1000 + 50;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

export async function postSubmission(baseUrl: string, formId: string, fields: Record<string, string>, opts: ClientOptions = {}): Promise<Response> {
  const doFetch = opts.fetch ?? fetch;
  return doFetch(`${baseUrl.replace(/\/+$/, '')}/api/forms/${encodeURIComponent(formId)}/submissions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(opts.headers ?? {}) },
    body: JSON.stringify(fields),
  });
}

/** The whole protocol: prepare, wait the minimum fill time, post. */
export async function submitLikeAPerson(baseUrl: string, formId: string, visitor: Record<string, string>, opts: ClientOptions = {}): Promise<Response> {
  const prepared = await prepareForm(baseUrl, formId, opts);
  await waitMinFill(prepared);
  return postSubmission(baseUrl, formId, { ...visitor, ...prepared.fields }, opts);
}
