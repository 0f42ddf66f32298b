// Who mail is sent as: the instance's sender and each site's (From, envelope sender, DKIM signer). `serve`
// refuses to start on any problem here, and `check-config` reports the same problems (one function for both).
import type { Config } from '../config/schema.js';
import { openDkim, type Signer } from './dkim.js';
import { parseFrom } from './message.js';

export interface Sender {
  /** The From header as configured ("Example Shop <info@example.jp>"). */
  fromHeader: string;
  /** Its address. */
  fromAddress: string;
  /** The envelope sender when set apart from From (a site's mail.envelopeFrom). */
  envelope: string | undefined;
  sign: Signer | undefined;
}

export type Senders = { ok: true; instance: Sender; sites: Map<string, Sender> } | { ok: false; problems: string[] };

const fromProblem = (key: string, value: string) => `${key}: "${value}" is not one address. Fix: write it as "Example Shop <info@example.jp>"`;

/** Parses every From and loads every DKIM key of the configuration; lists each problem, naming its key. */
export function openSenders(config: Config, baseDir: string): Senders {
  const problems: string[] = [];
  const from = parseFrom(config.mail.from);
  if (!from) problems.push(fromProblem('mail.from', config.mail.from));
  const dkim = config.mail.dkim ? openDkim(config.mail.dkim, baseDir) : null;
  if (dkim && !dkim.ok) problems.push(dkim.problem);
  const instanceSign = dkim?.ok ? dkim.sign : undefined;

  const sites = new Map<string, Sender>();
  for (const site of config.sites) {
    const fromHeader = site.mail.from ?? config.mail.from;
    const siteFrom = site.mail.from === undefined ? from : parseFrom(fromHeader);
    // An unset site From is the instance's: its problem is reported once, as mail.from.
    if (!siteFrom && site.mail.from !== undefined) problems.push(fromProblem(`sites.${site.id}.mail.from`, fromHeader));
    const siteDkim = site.mail.dkim ? openDkim(site.mail.dkim, baseDir) : null;
    if (siteDkim && !siteDkim.ok) problems.push(`sites.${site.id}.mail.dkim: ${siteDkim.problem}`);
    if (siteFrom) sites.set(site.id, { fromHeader, fromAddress: siteFrom.address, envelope: site.mail.envelopeFrom, sign: siteDkim?.ok ? siteDkim.sign : instanceSign });
  }
  if (problems.length > 0 || !from) return { ok: false, problems };
  return { ok: true, instance: { fromHeader: config.mail.from, fromAddress: from.address, envelope: undefined, sign: instanceSign }, sites };
}
