// The owner's actions on inquiries, one at a time or in bulk: release, mark as spam (optionally blocking the
// client address or its network), delete. Each is POST-only (the console's preHandler has checked the session
// and its CSRF token), audited, limited to the user's forms, and calls the same functions as the CLI.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import { addRule, canonicalCidr } from '../defenses/ip-lists/rules-store.js';
import { executeErasure, planSubmissionErasure } from '../submissions/delete.js';
import { markSpam, releaseSubmission } from '../submissions/moderate.js';
import type { ConsoleContext } from './routes.js';
import { safeNext } from './redirect.js';
import { canSeeForm } from './users.js';

/** How long a block made from "mark as spam" lasts. */
export const SPAM_BLOCK_MS = 30 * 86_400_000;

/** The /24 (IPv4) or /48 (IPv6) network of an address, or null when it is not one. */
export function networkOf(ip: string): string | null {
  if (!ipaddr.isValid(ip)) return null;
  const a = ipaddr.process(ip);
  if (a.kind() === 'ipv4') {
    const o = (a as ipaddr.IPv4).octets;
    return `${o[0]}.${o[1]}.${o[2]}.0/24`;
  }
  const p = (a as ipaddr.IPv6).parts;
  return canonicalCidr(`${p[0]!.toString(16)}:${p[1]!.toString(16)}:${p[2]!.toString(16)}::/48`);
}

export type ActionName = 'release' | 'release_autoreply' | 'spam' | 'spam_block_address' | 'spam_block_network' | 'delete';
export const ACTION_NAMES: readonly ActionName[] = ['release', 'release_autoreply', 'spam', 'spam_block_address', 'spam_block_network', 'delete'];

type Outcome = { ok: true; note: string } | { ok: false; code: string };

export async function registerActions(scope: FastifyInstance, ctx: ConsoleContext): Promise<void> {
  const { db, config } = ctx;

  /** One action on one inquiry the user may see; null when it does not exist for them. */
  async function act(req: FastifyRequest, id: string, action: ActionName): Promise<Outcome | null> {
    const s = ctx.session(req);
    const row = await db.kysely.selectFrom('submissions').select(['id', 'form_id', 'ip', 'receipt']).where('id', '=', id).executeTakeFirst();
    if (!row || !canSeeForm(s.user, row.form_id)) return null;
    const now = ctx.now();
    let out: Outcome;
    if (action === 'release' || action === 'release_autoreply') {
      const r = await releaseSubmission({ config, db, fromAddress: ctx.deps.fromAddress, senderAddress: ctx.deps.senderAddress, monitor: ctx.deps.monitor, webhooks: ctx.deps.webhooks }, id, { autoreply: action === 'release_autoreply', by: s.user.email, now });
      out = r.ok ? { ok: true, note: `notify:${r.notifications} autoreply:${r.autoreply} webhooks:${r.webhooks}` } : { ok: false, code: r.code };
    } else if (action === 'delete') {
      const plan = await planSubmissionErasure(db.kysely, id);
      if (!plan) return null;
      const r = await executeErasure(db.kysely, plan, { now, dryRun: false });
      out = r.kept.length ? { ok: false, code: 'E_SENDING' } : { ok: true, note: `rows:${Object.values(r.rows).reduce((a, b) => a + b, 0)}` };
    } else {
      const r = await markSpam({ db }, id, { by: s.user.email, now });
      out = r.ok ? { ok: true, note: `cancelled:${r.cancelled}` } : { ok: false, code: r.code };
      const cidr = action === 'spam_block_address' ? (ipaddr.isValid(row.ip) ? canonicalCidr(row.ip) : null) : action === 'spam_block_network' ? networkOf(row.ip) : null;
      if (cidr && action !== 'spam') {
        // The block list is the one `formwarden block add` writes; a running server applies it within seconds.
        await addRule(db.kysely, { cidr, list: 'block', expiresAt: now + SPAM_BLOCK_MS, note: `spam ${row.receipt ?? row.id} (${s.user.email})` }, now);
        out = { ok: true, note: `${out.ok ? out.note : out.code} blocked:${cidr}` };
      }
    }
    await ctx.audit(req, action, id, out);
    ctx.dataChanged();
    return out;
  }

  const str = (v: unknown) => (typeof v === 'string' ? v : '');

  scope.post<{ Params: { id: string } }>('/submissions/:id/:action', async (req, reply) => {
    const { id, action } = req.params as { id: string; action: string };
    const body = (req.body ?? {}) as Record<string, unknown>;
    // One route, the action named in the path; release with the auto-reply when its box is ticked,
    // spam with a block when one is chosen.
    let name: ActionName | null = null;
    if (action === 'release') name = str(body.autoreply) === '1' ? 'release_autoreply' : 'release';
    else if (action === 'spam') name = str(body.block) === 'address' ? 'spam_block_address' : str(body.block) === 'network' ? 'spam_block_network' : 'spam';
    else if (action === 'delete') name = str(body.confirm) === '1' ? 'delete' : null;
    if (!name) return back(reply, `/admin/submissions/${encodeURIComponent(id)}`, action === 'delete' ? 'confirm_needed' : 'unknown_action');
    const out = await act(req, id.slice(0, 64), name);
    if (!out) return reply.code(404).send({ error: { code: 'E_NOT_FOUND' } });
    if (name === 'delete' && out.ok) return back(reply, '/admin/inbox', 'deleted');
    return back(reply, `/admin/submissions/${encodeURIComponent(id)}`, out.ok ? (name.startsWith('release') ? 'released' : 'marked_spam') : out.code);
  });

  // Bulk: the inbox's ticked rows, one action, each row on its own (one that cannot be done is counted, not fatal).
  scope.post('/bulk', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const ids = (Array.isArray(body.ids) ? body.ids : [body.ids]).filter((x): x is string => typeof x === 'string' && x.length <= 64).slice(0, 200);
    const action = str(body.action) as ActionName;
    const returnTo = safeNext(body.back);
    if (!ACTION_NAMES.includes(action) || ids.length === 0 || (action === 'delete' && str(body.confirm) !== '1')) return back(reply, returnTo, action === 'delete' ? 'confirm_needed' : 'nothing_selected');
    let done = 0;
    for (const id of ids) if ((await act(req, id, action))?.ok) done++;
    return back(reply, returnTo, `bulk_${done}_${ids.length}`);
  });
}

/** Back to a console page with a short result code the page turns into a sentence (never echoed as given). */
function back(reply: FastifyReply, path: string, code: string): FastifyReply {
  const sep = path.includes('?') ? '&' : '?';
  return reply.code(303).header('location', `${path}${sep}done=${encodeURIComponent(code)}`).send();
}
