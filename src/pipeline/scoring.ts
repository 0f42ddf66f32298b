import { ACTIONS, type Action, type ActionLadder, type SymbolCatalog, type SymbolDef } from './types.js';

export const DEFAULT_LADDER: ActionLadder = { accept_no_autoreply: 3, quarantine: 6, reject: 10 };

export function actionRank(a: Action): number {
  return ACTIONS.indexOf(a);
}

export function maxAction(a: Action, b: Action): Action {
  return actionRank(a) >= actionRank(b) ? a : b;
}

/** Validates a ladder (thresholds finite and non-decreasing) and fills defaults. Throws a clear error. */
export function compileLadder(partial: Partial<ActionLadder> = {}): ActionLadder {
  const ladder = { ...DEFAULT_LADDER, ...partial };
  for (const k of ['accept_no_autoreply', 'quarantine', 'reject'] as const) {
    if (typeof ladder[k] !== 'number' || !Number.isFinite(ladder[k])) {
      throw new Error(`actions.${k}: must be a finite number, got ${String(ladder[k])}`);
    }
  }
  if (!(ladder.accept_no_autoreply <= ladder.quarantine && ladder.quarantine <= ladder.reject)) {
    throw new Error(
      `actions: thresholds must satisfy accept_no_autoreply <= quarantine <= reject (got ${ladder.accept_no_autoreply}, ${ladder.quarantine}, ${ladder.reject})`,
    );
  }
  return ladder;
}

/** The action for a score: the highest threshold the score reaches. */
export function actionForScore(score: number, ladder: ActionLadder): Action {
  if (score >= ladder.reject) return 'reject';
  if (score >= ladder.quarantine) return 'quarantine';
  if (score >= ladder.accept_no_autoreply) return 'accept_no_autoreply';
  return 'accept';
}

export type CatalogOverride = number | { score?: number; description?: { en?: string; ja?: string } };

/**
 * Merges config overrides into the default catalog. Overriding an unknown symbol is an error (a typo would
 * otherwise be silently ignored) unless the override carries a full description (a new symbol).
 */
export function buildCatalog(defaults: SymbolCatalog, overrides: Record<string, CatalogOverride> = {}): SymbolCatalog {
  const out: SymbolCatalog = {};
  for (const [k, v] of Object.entries(defaults)) out[k] = { score: v.score, description: { ...v.description } };
  for (const [symbol, o] of Object.entries(overrides)) {
    const base = out[symbol];
    const score = typeof o === 'number' ? o : o.score;
    if (score !== undefined && !Number.isFinite(score)) throw new Error(`symbols.${symbol}: score must be a finite number`);
    if (!base) {
      const d = typeof o === 'number' ? undefined : o.description;
      if (score === undefined || !d?.en || !d?.ja) {
        throw new Error(
          `symbols.${symbol}: unknown symbol; to add a new one give score and description.en and description.ja (known: ${Object.keys(defaults).length} symbols, see docs/defenses.md)`,
        );
      }
      out[symbol] = { score, description: { en: d.en, ja: d.ja } };
      continue;
    }
    const def: SymbolDef = { score: score ?? base.score, description: { ...base.description } };
    if (typeof o !== 'number' && o.description) {
      if (o.description.en) def.description.en = o.description.en;
      if (o.description.ja) def.description.ja = o.description.ja;
    }
    out[symbol] = def;
  }
  return out;
}

/** The catalog entry for a symbol; `DEFENSE_ERROR:rate-limit` falls back to `DEFENSE_ERROR`. */
export function lookupSymbol(catalog: SymbolCatalog, symbol: string): SymbolDef | undefined {
  const exact = catalog[symbol];
  if (exact) return exact;
  const i = symbol.indexOf(':');
  return i > 0 ? catalog[symbol.slice(0, i)] : undefined;
}
