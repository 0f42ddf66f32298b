// VERP: every mail leaves with its own envelope sender, <prefix>+<token>@<domain>, so a bounce names
// the exact outbox row it returns. The token is the outbox id (without "m_") and a truncated HMAC of
// it, both Crockford base32 in lower case: valid in a local part, and unharmed by servers that change
// the case of addresses.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ALPHABET } from '../util/id.js';

const ID = /^m_([0-9a-hjkmnp-tv-z]{22})$/;
const MAC_CHARS = 13; // 65 bits

export interface VerpOptions {
  domain: string;
  prefix: string;
  /** The HMAC key (secret "verpKey", kept in the database). */
  key: string;
}

function base32(buf: Buffer, chars: number): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of buf) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

export class Verp {
  readonly domain: string;
  readonly prefix: string;
  private readonly key: string;
  private readonly pattern: RegExp;

  constructor(opts: VerpOptions) {
    this.domain = opts.domain.toLowerCase().replace(/\.$/, '');
    this.prefix = opts.prefix.toLowerCase();
    this.key = opts.key;
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.pattern = new RegExp(`^${esc(this.prefix)}\\+([0-9a-hjkmnp-tv-z]{22})-([0-9a-hjkmnp-tv-z]{${MAC_CHARS}})@${esc(this.domain)}$`);
  }

  private mac(idPart: string): string {
    return base32(createHmac('sha256', this.key).update(`verp1:${idPart}`).digest(), MAC_CHARS);
  }

  /** The envelope sender for an outbox row; null for an id that is not an outbox id. */
  address(outboxId: string): string | null {
    const m = ID.exec(outboxId);
    if (!m) return null;
    return `${this.prefix}+${m[1]}-${this.mac(m[1]!)}@${this.domain}`;
  }

  /** The outbox id a VERP address stands for; null when it is not one of ours or was tampered with. */
  verify(address: string): string | null {
    const a = address.trim().replace(/^<|>$/g, '').toLowerCase();
    const m = this.pattern.exec(a);
    if (!m) return null;
    const want = Buffer.from(this.mac(m[1]!));
    const got = Buffer.from(m[2]!);
    return got.length === want.length && timingSafeEqual(got, want) ? `m_${m[1]}` : null;
  }
}
