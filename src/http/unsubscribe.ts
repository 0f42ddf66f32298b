// "I didn't request this": the signed link in every auto-reply. GET shows a page with one button
// (mail scanners follow links, so GET changes nothing); POST, from that button or from a mail client's
// RFC 8058 one-click unsubscribe, suppresses the address once and records an abuse signal. The token
// names the mail only; the address is the outbox row's recipient. A wildcard route: tokens mailed in the
// older, longer format (address inside) are accepted too, since no path-parameter limit applies to it.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import { pickLang, type Lang } from '../i18n/messages.js';
import { verifyLink } from '../relay/links.js';
import { suppress } from '../relay/suppression.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { newId } from '../util/id.js';
import { esc, page } from './html.js';

const text = {
  ja: {
    title: 'お問い合わせに心当たりがない場合',
    explain: 'このメールアドレスで送信されたお問い合わせへの自動返信が届きました。心当たりがない場合は、下のボタンを押してください。今後このアドレスには自動返信を送りません。',
    button: '心当たりがありません（自動返信を止める）',
    done: 'ありがとうございました。今後このアドレスには自動返信を送りません。',
    used: 'この手続きはすでに完了しています。',
    invalid: 'このリンクは無効です。',
  },
  en: {
    title: "I didn't request this",
    explain: 'An automatic reply to an inquiry made with this address was sent to you. If you did not make it, press the button: we will not send automatic replies to this address again.',
    button: "I didn't request this (stop automatic replies)",
    done: 'Thank you. We will not send automatic replies to this address again.',
    used: 'This has already been done.',
    invalid: 'This link is not valid.',
  },
};

type Route = { Params: { '*': string }; Querystring: { lang?: string } };

export function registerUnsubscribe(app: FastifyInstance, deps: { db: Kysely<Database>; linkKey: string; clock: Clock }): void {
  const langOf = (q: unknown, accept: string | undefined): Lang => pickLang(q, accept, 'ja');
  const both = (key: keyof typeof text.en, lang: Lang) => {
    const other: Lang = lang === 'ja' ? 'en' : 'ja';
    return `<p>${esc(text[lang][key])}</p>\n<p lang="${other}">${esc(text[other][key])}</p>`;
  };
  const send = (reply: FastifyReply, status: number, lang: Lang, body: string) =>
    reply.code(status).send(page({ lang, title: text[lang].title, body: `<h1>${esc(text[lang].title)}</h1>\n${body}` }));
  // Only auto-replies carry the link; the row's recipient is the only address a token can act on.
  const recipientOf = async (outboxId: string) =>
    (await deps.db.selectFrom('outbox').select('to_addr').where('id', '=', outboxId).where('kind', '=', 'autoreply').executeTakeFirst())?.to_addr;
  const claimsOf = (token: string) => verifyLink(deps.linkKey, token, recipientOf);

  app.get<Route>('/u/*', async (req, reply) => {
    const lang = langOf(req.query.lang, req.headers['accept-language']);
    const token = req.params['*'];
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    const claims = await claimsOf(token);
    if (!claims) return send(reply, 404, lang, both('invalid', lang));
    const used = await deps.db.selectFrom('link_uses').select('id').where('id', '=', claims.outboxId).executeTakeFirst();
    if (used) return send(reply, 200, lang, both('used', lang));
    // A relative action: the page posts back to its own address, behind any path prefix.
    const action = `${token}${typeof req.query.lang === 'string' ? `?lang=${lang}` : ''}`;
    return send(reply, 200, lang, `${both('explain', lang)}\n<form method="post" action="${esc(action)}"><p><button type="submit">${esc(text[lang].button)}</button></p></form>`);
  });

  app.post<Route>('/u/*', async (req, reply) => {
    const lang = langOf(req.query.lang, req.headers['accept-language']);
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    const claims = await claimsOf(req.params['*']);
    if (!claims) return send(reply, 404, lang, both('invalid', lang));
    const now = deps.clock.now().getTime();
    const first = await deps.db.transaction().execute(async (trx) => {
      const r = await trx.insertInto('link_uses').values({ id: claims.outboxId, used_at: now }).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      const mail = await trx.selectFrom('outbox').select(['form_id', 'submission_id']).where('id', '=', claims.outboxId).executeTakeFirst();
      await trx
        .insertInto('events')
        .values({ id: newId('e', now), kind: 'abuse_link', form_id: mail?.form_id ?? null, address: claims.address, at: now, detail: mail?.submission_id ?? '' })
        .execute();
      // In the same transaction: the use, the signal and the suppression happen together or not at all.
      await suppress(trx, claims.address, 'link', now, `outbox ${claims.outboxId}`);
      return true;
    });
    // A replay acts no more: 409 with the "already done" page.
    if (!first) return send(reply, 409, lang, both('used', lang));
    return send(reply, 200, lang, both('done', lang));
  });
}
