// Owner commands that change protection state: the block list, the suppression list, the breaker.
// They work on the database directly, so they work whether or not the server runs.
import { addRule, canonicalCidr, listRules, removeRule, ruleExpiry } from '../defenses/ip-lists/rules-store.js';
import { banKey, liftBan, listBans } from '../defenses/ip-lists/db-ban-store.js';
import { breakerScope, resetBreaker } from '../monitor/breaker.js';
import { listSuppressions, suppress, unsuppress } from '../relay/suppression.js';
import { parseEmail } from '../forms/email.js';
import { table } from './table.js';
import { jsonTerminalSafe, terminalSafe } from '../util/terminal-safe.js';
import { iso, withDb } from './data.js';

export async function blockAdd(configPath: string | undefined, cidr: string, opts: { allow?: boolean; expires?: string; note?: string }): Promise<number> {
  let canonical: string;
  try {
    canonical = canonicalCidr(cidr);
  } catch {
    process.stderr.write(`formwarden: "${cidr}" is not an IP address or CIDR (e.g. 203.0.113.0/24 or 2001:db8::/48)\n`);
    return 2;
  }
  let expiresAt: number | null;
  try {
    expiresAt = ruleExpiry(opts.expires, Date.now());
  } catch {
    process.stderr.write(`formwarden: --expires "${opts.expires}" is neither a duration (7d, 12h) nor a date (2030-01-31T00:00:00Z)\n`);
    return 2;
  }
  await withDb(configPath, (db) => addRule(db.kysely, { cidr: canonical, list: opts.allow ? 'allow' : 'block', expiresAt, note: opts.note ?? '' }, Date.now()));
  process.stdout.write(`${opts.allow ? 'allowed' : 'blocked'} ${canonical}${expiresAt ? ` until ${iso(expiresAt)}` : ''}; a running server applies it within 5 seconds\n`);
  return 0;
}

export async function blockRemove(configPath: string | undefined, cidr: string): Promise<number> {
  const ok = await withDb(configPath, (db) => removeRule(db.kysely, cidr));
  if (!ok) {
    process.stderr.write(`formwarden: ${cidr} is not on the list\n`);
    return 1;
  }
  process.stdout.write(`removed ${cidr}\n`);
  return 0;
}

export async function blockList(configPath: string | undefined, opts: { json?: boolean }): Promise<number> {
  const rules = await withDb(configPath, (db) => listRules(db.kysely));
  if (opts.json) process.stdout.write(`${jsonTerminalSafe(JSON.stringify(rules, null, 2))}\n`);
  else process.stdout.write(table(['cidr', 'list', 'expires', 'note', 'added'], rules.map((r) => [r.cidr, r.list, iso(r.expiresAt), r.note, iso(r.createdAt)])));
  return 0;
}

export async function suppressAdd(configPath: string | undefined, address: string, opts: { note?: string }): Promise<number> {
  if (!parseEmail(address)) {
    process.stderr.write(`formwarden: "${address}" is not one plain email address\n`);
    return 2;
  }
  const added = await withDb(configPath, (db) => suppress(db.kysely, address, 'owner', Date.now(), opts.note ?? ''));
  process.stdout.write(added ? `suppressed ${address}: it gets no auto-reply\n` : `${address} was already suppressed\n`);
  return 0;
}

export async function suppressRemove(configPath: string | undefined, address: string): Promise<number> {
  const ok = await withDb(configPath, (db) => unsuppress(db.kysely, address));
  if (!ok) {
    process.stderr.write(`formwarden: ${address} is not suppressed\n`);
    return 1;
  }
  process.stdout.write(`${address} removed from the suppression list\n`);
  return 0;
}

export async function suppressList(configPath: string | undefined, opts: { json?: boolean }): Promise<number> {
  const rows = await withDb(configPath, (db) => listSuppressions(db.kysely));
  if (opts.json) process.stdout.write(`${jsonTerminalSafe(JSON.stringify(rows, null, 2))}\n`);
  else process.stdout.write(table(['address', 'reason', 'added', 'note'], rows.map((r) => [r.address, r.reason, iso(r.created_at), r.note])));
  return 0;
}

/** `formwarden status`: breakers, outbox depth, suppressions, recent alerts. */
export async function status(configPath: string | undefined, opts: { json?: boolean }): Promise<number> {
  const data = await withDb(configPath, async (db) => {
    const k = db.kysely;
    const breakers = await k.selectFrom('breakers').selectAll().orderBy('scope').execute();
    const outbox = await k.selectFrom('outbox').select(['state', k.fn.countAll<number>().as('n')]).groupBy('state').execute();
    const suppressed = await k.selectFrom('suppressions').select(k.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const alerts = await k.selectFrom('events').selectAll().where('kind', 'in', ['alert', 'breaker']).orderBy('at', 'desc').limit(10).execute();
    return { breakers, outbox: Object.fromEntries(outbox.map((o) => [o.state, Number(o.n)])), suppressed: Number(suppressed.n), events: alerts };
  });
  if (opts.json) {
    process.stdout.write(`${jsonTerminalSafe(JSON.stringify(data, null, 2))}\n`);
    return 0;
  }
  const lines = [
    'Circuit breakers:',
    data.breakers.length === 0
      ? '  all closed'
      : table(['scope', 'state', 'since', 'retry', 'reason'], data.breakers.map((b) => [b.scope, b.state, iso(b.updated_at), iso(b.retry_at), b.reason])).trimEnd(),
    `Outbox: ${Object.entries(data.outbox).map(([k, v]) => `${k} ${v}`).join(', ') || 'empty'}`,
    `Suppressed addresses: ${data.suppressed}`,
    'Recent breaker events and alerts:',
    ...(data.events.length ? data.events.map((e) => `  ${iso(e.at)} ${e.kind} ${terminalSafe(e.form_id ?? '')} ${terminalSafe(e.detail)}`) : ['  none']),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

export async function breakerReset(configPath: string | undefined, form: string): Promise<number> {
  const scope = breakerScope(form);
  const ok = await withDb(configPath, (db) => resetBreaker(db.kysely, scope, Date.now()));
  if (!ok) {
    process.stderr.write(`formwarden: no breaker for ${scope}\n`);
    return 1;
  }
  process.stdout.write(`breaker ${scope} closed; a running server picks it up within its monitor interval\n`);
  return 0;
}

/** Temporary bans the server set after repeated rejected submissions. */
export async function bansList(configPath: string | undefined, opts: { json?: boolean }): Promise<number> {
  const rows = await withDb(configPath, (db) => listBans(db.kysely, Date.now()));
  if (opts.json) process.stdout.write(`${jsonTerminalSafe(JSON.stringify(rows, null, 2))}\n`);
  else process.stdout.write(table(['address or network', 'banned until', 'level'], rows.map((r) => [r.key, iso(r.until_at), String(r.level)])));
  return 0;
}

export async function bansLift(configPath: string | undefined, key: string): Promise<number> {
  const canonical = banKey(key);
  const ok = await withDb(configPath, (db) => liftBan(db.kysely, canonical));
  if (!ok) {
    process.stderr.write(`formwarden: ${key} is not banned\n`);
    return 1;
  }
  process.stdout.write(`ban on ${canonical} lifted; a running server applies it within 5 seconds\n`);
  return 0;
}
