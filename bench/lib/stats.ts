// Small statistics helpers: the benches report medians of short rounds (the machine is shared and noisy).

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function round(value: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Spread of the rounds as "min–max", for the details section. */
export function range(values: readonly number[], digits = 0): string {
  if (values.length === 0) return '-';
  return `${round(Math.min(...values), digits)}–${round(Math.max(...values), digits)}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
