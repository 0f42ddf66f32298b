import { STAGES, type Defense, type SymbolCatalog } from './types.js';
import { lookupSymbol } from './scoring.js';

const NAME = /^[a-z][a-z0-9-]{0,63}$/;

/** Defenses ordered by stage (pre, main, post), then priority (lower first), then registration order. */
export class Registry {
  readonly #entries: { defense: Defense; seq: number }[] = [];
  #seq = 0;

  register(defense: Defense): this {
    if (!NAME.test(defense.name)) throw new Error(`defense name "${defense.name}": use lower-case letters, digits and -`);
    if (!STAGES.includes(defense.stage)) throw new Error(`defense ${defense.name}: stage must be one of ${STAGES.join(', ')}`);
    if (!['fail-open', 'fail-closed', 'quarantine'].includes(defense.onError)) {
      throw new Error(`defense ${defense.name}: onError must be fail-open, fail-closed or quarantine`);
    }
    if (defense.timeoutMs !== undefined && !(defense.timeoutMs > 0)) {
      throw new Error(`defense ${defense.name}: timeoutMs must be positive`);
    }
    if (this.#entries.some((e) => e.defense.name === defense.name)) {
      throw new Error(`defense ${defense.name} is registered twice`);
    }
    this.#entries.push({ defense, seq: this.#seq++ });
    return this;
  }

  list(): Defense[] {
    return [...this.#entries]
      .sort(
        (a, b) =>
          STAGES.indexOf(a.defense.stage) - STAGES.indexOf(b.defense.stage) ||
          (a.defense.priority ?? 0) - (b.defense.priority ?? 0) ||
          a.seq - b.seq,
      )
      .map((e) => e.defense);
  }

  /** Throws if a defense declares a symbol that the catalog does not describe (run at start-up). */
  validate(catalog: SymbolCatalog): void {
    const missing: string[] = [];
    for (const { defense } of this.#entries) {
      for (const s of defense.symbols ?? []) if (!lookupSymbol(catalog, s)) missing.push(`${defense.name}: ${s}`);
    }
    if (missing.length) throw new Error(`symbols missing from the catalog (add them under symbols:): ${missing.join(', ')}`);
  }
}

/** The same defense, applied only to the listed forms (skipped for others). */
export function onlyForForms<D extends Defense>(defense: D, formIds: readonly string[]): D {
  const ids = new Set(formIds);
  const { precheck } = defense;
  return {
    ...defense,
    check: (sub, ctx) => (ids.has(sub.formId) ? defense.check(sub, ctx) : { kind: 'skip', reason: 'not enabled for this form' }),
    ...(precheck ? { precheck: (sub, ctx) => (ids.has(sub.formId) ? precheck.call(defense, sub, ctx) : undefined) } : {}),
  };
}
