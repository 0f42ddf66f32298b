import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../config/load.js';
import { newId } from '../util/id.js';
import { Verp } from './verp.js';

const verp = new Verp({ domain: 'bounce.example.jp', prefix: 'bounce', key: 'k1' });
const id = newId('m', Date.UTC(2026, 10, 28));

describe('VERP addresses', () => {
  it('names the outbox row, in a lower-case local part of at most 64 characters', () => {
    const a = verp.address(id)!;
    expect(a).toMatch(/^bounce\+[0-9a-z]{22}-[0-9a-z]{13}@bounce\.example\.jp$/);
    expect(a.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(a).toContain(id.slice(2));
    expect(verp.verify(a)).toBe(id);
  });

  it('survives servers that change case or add angle brackets', () => {
    const a = verp.address(id)!;
    expect(verp.verify(a.toUpperCase())).toBe(id);
    expect(verp.verify(`<${a}>`)).toBe(id);
  });

  it('refuses tampered tokens, another key, another domain or prefix', () => {
    const a = verp.address(id)!;
    const [local, domain] = a.split('@') as [string, string];
    const other = newId('m', Date.UTC(2026, 10, 29));
    // The id of another row with this row's MAC.
    const swapped = `bounce+${other.slice(2)}-${local.split('-')[1]}@${domain}`;
    expect(verp.verify(swapped)).toBeNull();
    const lastMacChar = local.at(-1) === 'a' ? 'b' : 'a';
    expect(verp.verify(`${local.slice(0, -1)}${lastMacChar}@${domain}`)).toBeNull();
    expect(verp.verify(`${local.slice(0, -1)}@${domain}`)).toBeNull();
    expect(new Verp({ domain: 'bounce.example.jp', prefix: 'bounce', key: 'k2' }).verify(a)).toBeNull();
    expect(verp.verify(`${local}@example.jp`)).toBeNull();
    expect(verp.verify(`${local}@evil.bounce.example.jp`)).toBeNull();
    expect(verp.verify(a.replace(/^bounce\+/, 'bounces+'))).toBeNull();
    expect(verp.verify(a.replace(/^bounce\+/, 'other+'))).toBeNull();
    expect(verp.verify('bounce@bounce.example.jp')).toBeNull();
    expect(verp.verify('')).toBeNull();
  });

  it('uses the configured prefix and gives no address for an id that is not an outbox id', () => {
    const v = new Verp({ domain: 'Mx.Example.JP.', prefix: 'fw-b', key: 'k1' });
    const a = v.address(id)!;
    expect(a.startsWith('fw-b+')).toBe(true);
    expect(a.endsWith('@mx.example.jp')).toBe(true);
    expect(v.verify(a)).toBe(id);
    expect(v.address('s_0000000000000000000000')).toBeNull();
    expect(v.address('m_short')).toBeNull();
  });
});

const BASE = `
mail: { from: "Example Shop <info@example.jp>" }
forms:
  - id: contact
    title: Contact
    fields: [{ name: email, type: email, required: true, label: Email }]
    notify: { to: [owner@example.jp], subject: "s", body: "b" }
`;

function problems(extra: string): string[] {
  try {
    parseConfigText(`${BASE}\n${extra}`, 'test.yaml');
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('bounces.verp and bounces.smtp configuration', () => {
  it('is off by default, with defaults for prefix, host, size and rate', () => {
    expect(parseConfigText(BASE, 'test.yaml').bounces.verp).toBeUndefined();
    const c = parseConfigText(`${BASE}\nbounces: { verp: { domain: Bounce.Example.JP }, smtp: { port: 2526 } }`, 'test.yaml').bounces;
    expect(c.verp).toEqual({ domain: 'bounce.example.jp', prefix: 'bounce' });
    expect(c.smtp).toEqual({ host: '127.0.0.1', port: 2526, maxBytes: 1_048_576, perClientPerMinute: 30 });
  });

  it('explains what is wrong', () => {
    expect(problems('bounces: { verp: { domain: "not a domain" } }').join('\n')).toMatch(/bounces\.verp\.domain.*bounce\.example\.jp/);
    expect(problems('bounces: { verp: { domain: bounce.example.jp, prefix: "a+b" } }').join('\n')).toMatch(/bounces\.verp\.prefix/);
    expect(problems('bounces: { smtp: { port: 2526 } }').join('\n')).toMatch(/bounces\.smtp.*bounces\.verp\.domain/);
    expect(problems('bounces: { verp: { domain: bounce.example.jp }, smtp: { port: 70000 } }').join('\n')).toMatch(/bounces\.smtp\.port/);
  });
});
