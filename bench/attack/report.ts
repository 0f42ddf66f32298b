// Turning a run into figures: answers per scenario, stored verdicts, mails to the owner and to third
// parties, visitor text found in third-party mail, genuine visitors' acceptance and latency, server
// memory and CPU. One table for people, the same object as JSON.
import type { ReceivedMail } from '../../test/support/smtp-sink.js';
import type { Kind } from './scenarios.js';
import type { RunResult, StoredOutcome } from './runner.js';
import { BOT_MARK, INJECTED_DOMAIN } from './text.js';

export interface ScenarioSummary {
  kind: Kind;
  attempts: number;
  /** "201", "403 E_TOKEN_MISSING", "error:ECONNRESET", ... -> count */
  answers: Record<string, number>;
  /** Stored action per submission answered 201 (when the instance's database was readable). */
  stored: Record<string, number> | null;
  /** Inquiries that reached the owner: stored as accept / accept_no_autoreply (or answered 201 when the verdicts are unknown). */
  delivered: number;
  /** Of those, with an auto-reply queued. */
  autoreplied: number | null;
}

export interface Summary {
  target: string;
  seed: number;
  seconds: number;
  scenarios: ScenarioSummary[];
  attempts: number;
  fiveXx: number;
  clientErrors: number;
  mails: {
    total: number;
    owner: number;
    ownerByKind: Record<string, number>;
    thirdParty: number;
    thirdPartyByKind: Record<string, number>;
    thirdPartyRecipients: number;
    injectedRecipients: number;
    budget: number | null;
    withinBudget: boolean | null;
    visitorTextHits: number;
    visitorTextSamples: string[];
  };
  genuine: {
    visitors: number;
    accepted: number;
    acceptedPct: number;
    /** 'stored' when the verdicts were read from the database, '201' when only the answer was seen. */
    judgedBy: 'stored' | '201';
    autoreplied: number | null;
    postP50Ms: number;
    postP95Ms: number;
    challengeP95Ms: number;
    /** Accepted genuine inquiries whose text is in a mail the owner received during the run (notification or digest). */
    inOwnerMail: number;
  };
  server: RunResult['server'];
}

export function percentile(values: number[], p: number): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))]!;
}

const kindOf = (m: ReceivedMail) => String(m.parsed.headers.get('x-formwarden-kind') ?? 'other');

function haystack(m: ReceivedMail): string {
  const headers = m.parsed.headerLines.filter((h) => h.key !== 'to').map((h) => h.line);
  return [m.parsed.subject ?? '', m.parsed.text ?? '', typeof m.parsed.html === 'string' ? m.parsed.html : '', ...headers].join('\n').replace(/\r\n/g, '\n');
}

const DELIVERED = new Set(['accept', 'accept_no_autoreply']);

export function summarize(r: RunResult): Summary {
  const kinds = [...new Set(r.scenarios.map((s) => s.kind))];
  const scenarios: ScenarioSummary[] = kinds.map((kind) => {
    const as = r.attempts.filter((a) => a.kind === kind);
    const answers: Record<string, number> = {};
    for (const a of as) {
      const key = a.code ? `${a.status} ${a.code}` : a.status;
      answers[key] = (answers[key] ?? 0) + 1;
    }
    let stored: Record<string, number> | null = null;
    let delivered = 0;
    let autoreplied: number | null = null;
    if (r.stored) {
      stored = {};
      autoreplied = 0;
      for (const a of as) {
        if (!a.id) continue;
        const so: StoredOutcome | undefined = r.stored.get(a.id);
        const key = so?.outcome ?? 'not found';
        stored[key] = (stored[key] ?? 0) + 1;
        if (so && DELIVERED.has(so.outcome)) delivered++;
        if (so && /^(queued|sent)/.test(so.autoreply)) autoreplied++;
      }
    } else delivered = as.filter((a) => a.status === '201').length;
    return { kind, attempts: as.length, answers, stored, delivered, autoreplied };
  });

  const owners = new Set(r.owners);
  const owner = r.mails.filter((m) => m.envelopeTo.every((t) => owners.has(t.toLowerCase())));
  const third = r.mails.filter((m) => m.envelopeTo.some((t) => !owners.has(t.toLowerCase())));
  const count = (ms: ReceivedMail[]) => ms.reduce<Record<string, number>>((acc, m) => ((acc[kindOf(m)] = (acc[kindOf(m)] ?? 0) + 1), acc), {});

  // Visitor text: every bot string carries BOT_MARK (checked case-insensitively, so lower-cased
  // URLs count); every typed string is also searched as typed.
  const needles = [...new Set(r.attempts.flatMap((a) => a.needles))];
  const exhaustive = needles.length * third.length <= 20_000_000;
  const hits: string[] = [];
  for (const m of third) {
    const h = haystack(m);
    const lower = h.toLowerCase();
    let found: string | undefined = lower.includes(BOT_MARK.toLowerCase()) ? BOT_MARK : undefined;
    if (!found) found = (exhaustive ? needles : needles.filter((n) => !n.includes(BOT_MARK))).find((n) => h.includes(n));
    if (found) hits.push(`${m.envelopeTo.join(',')}: "${found.slice(0, 60)}"`);
  }

  const genuine = r.attempts.filter((a) => a.kind === 'genuine');
  const gAccepted = genuine.filter((a) => (r.stored ? !!a.id && DELIVERED.has(r.stored.get(a.id)?.outcome ?? '') : a.status === '201'));
  const gAutoreplied = r.stored ? genuine.filter((a) => a.id && /^(queued|sent)/.test(r.stored!.get(a.id)?.autoreply ?? '')).length : null;
  // Each genuine message carries a unique reference line; look for it in what the owner received.
  const ownerText = owner.map(haystack).join('\n');
  const inOwnerMail = gAccepted.filter((a) => {
    const ref = a.needles.find((n) => n.startsWith('（お問い合わせ番号'));
    return ref !== undefined && ownerText.includes(ref);
  }).length;
  const thirdPartyRecipients = third.reduce((n, m) => n + m.envelopeTo.filter((t) => !owners.has(t.toLowerCase())).length, 0);
  return {
    target: r.url,
    seed: r.seed,
    seconds: r.seconds,
    scenarios,
    attempts: r.attempts.length,
    fiveXx: r.attempts.filter((a) => /^5\d\d$/.test(a.status)).length,
    clientErrors: r.attempts.filter((a) => a.status.startsWith('error:')).length,
    mails: {
      total: r.mails.length,
      owner: owner.length,
      ownerByKind: count(owner),
      thirdParty: third.length,
      thirdPartyByKind: count(third),
      thirdPartyRecipients,
      injectedRecipients: r.mails.flatMap((m) => m.envelopeTo).filter((t) => t.toLowerCase().endsWith(`@${INJECTED_DOMAIN}`)).length,
      budget: r.budget,
      withinBudget: r.budget === null ? null : thirdPartyRecipients <= r.budget,
      visitorTextHits: hits.length,
      visitorTextSamples: hits.slice(0, 5),
    },
    genuine: {
      visitors: genuine.length,
      accepted: gAccepted.length,
      acceptedPct: genuine.length ? (gAccepted.length / genuine.length) * 100 : Number.NaN,
      judgedBy: r.stored ? 'stored' : '201',
      autoreplied: gAutoreplied,
      postP50Ms: percentile(genuine.filter((a) => a.status === '201').map((a) => a.ms ?? Number.NaN), 50),
      postP95Ms: percentile(genuine.filter((a) => a.status === '201').map((a) => a.ms ?? Number.NaN), 95),
      challengeP95Ms: percentile(genuine.map((a) => a.challengeMs ?? Number.NaN), 95),
      inOwnerMail,
    },
    server: r.server,
  };
}

const fmtCounts = (c: Record<string, number> | null) =>
  c === null
    ? '-'
    : Object.entries(c)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ') || '-';
const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} ms` : 'n/a');

/** One table: a row per scenario, then the key figures. */
export function formatTable(s: Summary): string {
  const rows: string[][] = [['scenario', 'attempts', 'answers (HTTP status code)', 'stored verdicts', 'to owner', 'auto-replied']];
  for (const sc of s.scenarios) rows.push([sc.kind, String(sc.attempts), fmtCounts(sc.answers), fmtCounts(sc.stored), String(sc.delivered), sc.autoreplied === null ? '-' : String(sc.autoreplied)]);
  rows.push(['', '', '', '', '', '']);
  const add = (k: string, v: string) => rows.push([k, '', v, '', '', '']);
  add('total', `${s.attempts} attempts in ${s.seconds.toFixed(1)} s; 5xx: ${s.fiveXx}; socket errors/timeouts: ${s.clientErrors}`);
  add('mail: owner', `${s.mails.owner} (${fmtCounts(s.mails.ownerByKind)})`);
  add(
    'mail: 3rd parties',
    `${s.mails.thirdParty} mails, ${s.mails.thirdPartyRecipients} recipients (${fmtCounts(s.mails.thirdPartyByKind)}); budget ${s.mails.budget ?? 'unknown'}${s.mails.withinBudget === null ? '' : s.mails.withinBudget ? ' (within)' : ' (EXCEEDED)'}; at injected.example: ${s.mails.injectedRecipients}`,
  );
  add('visitor text', `${s.mails.visitorTextHits} third-party mails contain typed text${s.mails.visitorTextSamples.length ? `: ${s.mails.visitorTextSamples.join('; ')}` : ''}`);
  add(
    'genuine',
    `${s.genuine.accepted}/${s.genuine.visitors} accepted (${Number.isFinite(s.genuine.acceptedPct) ? s.genuine.acceptedPct.toFixed(1) : 'n/a'}%, judged by ${s.genuine.judgedBy === 'stored' ? 'stored verdict' : 'HTTP 201'})` +
      `${s.genuine.autoreplied === null ? '' : `, ${s.genuine.autoreplied} auto-replied`}, ${s.genuine.inOwnerMail} found in the owner's mail so far; POST p50 ${ms(s.genuine.postP50Ms)}, p95 ${ms(s.genuine.postP95Ms)}; challenge p95 ${ms(s.genuine.challengeP95Ms)}`,
  );
  add('server', s.server ? `peak RSS (VmHWM) ${s.server.peakRssMb.toFixed(1)} MB; CPU ${s.server.cpuSeconds.toFixed(1)} s = ${s.server.cpuPct.toFixed(0)}% of one core` : 'pid unknown (pass --pid)');
  const widths = rows[0]!.map((_, c) => Math.max(...rows.filter((r) => r[0] === '' || r[1] !== '' || c < 2).map((r) => [...(r[c] ?? '')].length)));
  return rows
    .map((r) => (r[1] === '' && r[0] !== '' ? `${r[0]!.padEnd(widths[0]! + 2 + widths[1]! + 2)}${r[2]}` : r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()))
    .join('\n');
}
