// The values a simulated attacker types into a form: every field gets a value that passes the form's own
// validation (required, lengths, type, select and checkbox options, pattern), the address field gets a
// stranger's address, and free-text fields carry a marker and a spam link when they accept it (to see
// whether visitor text reaches strangers). When no valid value can be made for a field, the reason is
// returned instead: the selftest then fails and says why, rather than measure nothing.
import { createRequire } from 'node:module';
import type { FieldConfig, FormConfig } from '../config/schema.js';
import { validateFields } from '../forms/validate.js';

export const MARK = 'FWSELFTEST';
export const SPAM_HOST = 'selftest-spam.example.ru';
// randexp (CommonJS) generates strings that match a regular expression.
interface RandExpLike {
  max: number;
  defaultRange: { add(from: number, to?: number): unknown; subtract(from: number, to?: number): unknown };
  randInt(a: number, b: number): number;
  gen(): string;
}
const RandExp = createRequire(import.meta.url)('randexp') as new (re: RegExp) => RandExpLike;
const payload = (i: number) => `${MARK}${i} https://${SPAM_HOST}/buy?${i} selftest-spam[.]example`;

export interface FieldMaker {
  /** The fields of the i-th post; the recipient field gets `to`. */
  values(i: number, to: string): Record<string, string>;
  /** The name of the field an auto-reply goes to (null: the form sends none). */
  target: string | null;
  /** Fields whose values carry the marker text (to see whether visitor text reaches a stranger). */
  textFields: string[];
  /** What the simulated attacker had to adapt to (shown in the report). */
  notes: string[];
}

/** A small seeded generator, so that a run of the selftest is repeatable. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

function fieldOk(form: FormConfig, f: FieldConfig, value: string): boolean {
  const one: FormConfig = { ...form, fields: [f] };
  return validateFields(one, { [f.name]: value }).ok;
}

const DEFAULT_MAX: Record<string, number> = { text: 200, email: 254, tel: 30, url: 2000, textarea: 10_000, hidden: 1000, checkbox: 1000 };

/** First guesses for a field, before generating from its pattern. */
function guesses(f: FieldConfig, i: number, to: string): string[] {
  if (f.options?.length) return f.options.map((o) => o.value).filter((v) => v !== '');
  const max = f.maxLength ?? DEFAULT_MAX[f.type] ?? 200;
  const fit = (s: string) => {
    const cut = [...s].slice(0, max).join('');
    const min = f.minLength ?? 0;
    return [...cut].length >= min ? cut : cut + 'x'.repeat(min - [...cut].length);
  };
  switch (f.type) {
    case 'email':
      return [to];
    case 'tel':
      return ['0312345678', '03-1234-5678', '+81312345678'];
    case 'url':
      return [`https://${SPAM_HOST}/${i}`];
    case 'checkbox':
      return [f.value ?? 'yes', 'on', '1'];
    case 'hidden':
      return [...(f.value ? [f.value] : []), fit(payload(i))];
    default:
      return [fit(payload(i)), fit(`selftest ${i}`)];
  }
}

/** A value matching the field's pattern (and every other rule), or null after a few tries. */
function fromPattern(form: FormConfig, f: FieldConfig, random: () => number): string | null {
  if (!f.pattern) return null;
  // randexp draws `.` and negated classes from its default range (printable ASCII) and keeps only that part
  // of a class: try plain letters and digits first, then printable ASCII, then the scripts forms ask for
  // (Latin, Greek and Cyrillic, kana and CJK punctuation, kanji, full-width forms).
  const phases: (readonly [number, number])[][] = [
    [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
    [[0x20, 0x7e]],
    [[0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x4ff], [0x3000, 0x30ff], [0x4e00, 0x9fff], [0xff01, 0xffef]],
  ];
  for (const ranges of phases) {
    let gen: RandExpLike;
    try {
      gen = new RandExp(new RegExp(`^(?:${f.pattern})$`, 'u'));
    } catch {
      return null;
    }
    gen.max = Math.max(1, Math.min(20, f.maxLength ?? 20));
    gen.defaultRange.subtract(0, 0x10ffff);
    for (const [from, to] of ranges) gen.defaultRange.add(from, to);
    gen.randInt = (a, b) => a + Math.floor(random() * (b - a + 1));
    for (let k = 0; k < 100; k++) {
      const v = gen.gen();
      if (fieldOk(form, f, v)) return v;
    }
  }
  return null;
}

/**
 * Plans the values of every field, or explains which field could not be filled in. `stranger(i)` is the
 * address the i-th post targets (only used to check that such an address passes the address field).
 */
export function fieldMaker(form: FormConfig, stranger: (i: number) => string): FieldMaker | { error: string } {
  const target = form.autoreply?.enabled ? (form.fields.find((f) => f.name === form.autoreply!.to)?.name ?? null) : null;
  const random = rng(0x5e1f7e57);
  const plans: Record<string, (i: number, to: string) => string> = {};
  const notes: string[] = [];
  const textFields: string[] = [];
  for (const f of form.fields) {
    const probe = guesses(f, 0, stranger(0)).find((g) => fieldOk(form, f, g));
    if (probe !== undefined) {
      if (f.type === 'email') plans[f.name] = (_i, to) => to;
      else if (f.options?.length || f.type === 'checkbox') plans[f.name] = () => probe;
      else {
        const index = guesses(f, 0, stranger(0)).indexOf(probe);
        plans[f.name] = (i, to) => {
          const g = guesses(f, i, to)[index]!;
          return fieldOk(form, f, g) ? g : probe;
        };
        if (guesses(f, 0, stranger(0))[index]!.includes(MARK)) textFields.push(f.name);
      }
      continue;
    }
    // Nothing ordinary passes: generate from the pattern. The address field must still accept strangers.
    const generated = fromPattern(form, f, random);
    if (generated !== null && f.type !== 'email') {
      notes.push(`field "${f.name}": a value generated from its pattern (e.g. ${generated})`);
      plans[f.name] = () => generated;
      continue;
    }
    if (generated !== null && f.type === 'email') {
      notes.push(`field "${f.name}" accepts only addresses matching its pattern (e.g. ${generated}): the simulated attacker targets those`);
      plans[f.name] = (i) => {
        const g = fromPattern(form, f, rng(i + 1));
        return g ?? generated;
      };
      continue;
    }
    // An optional field the bot cannot fill is left empty.
    if (!f.required && fieldOk(form, f, '')) {
      plans[f.name] = () => '';
      continue;
    }
    const why = f.pattern ? `its pattern /${f.pattern}/ with its other rules` : `its rules (type ${f.type}${f.minLength !== undefined ? `, minLength ${f.minLength}` : ''}${f.maxLength !== undefined ? `, maxLength ${f.maxLength}` : ''})`;
    return { error: `no value could be made for field "${f.name}" that passes ${why}` };
  }
  // The whole form must validate (fields are checked one by one above; this catches anything else).
  const sample = Object.fromEntries(form.fields.map((f) => [f.name, plans[f.name]!(0, stranger(0))]));
  const check = validateFields(form, sample);
  if (!check.ok) {
    const bad = Object.entries(check.errors).map(([k, e]) => `${k}: ${e.code}`).join(', ');
    return { error: `the simulated post does not pass the form's validation (${bad || check.badInput})` };
  }
  return {
    target,
    textFields,
    notes,
    values: (i, to) => Object.fromEntries(form.fields.map((f) => [f.name, plans[f.name]!(i, to)])),
  };
}
