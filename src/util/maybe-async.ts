// Values that are sometimes ready and sometimes a promise: a check that needs no I/O answers at once, and
// the caller then pays no promise and no turn of the microtask queue for it.

export type MaybePromise<T> = T | Promise<T>;

export const isThenable = <T>(v: MaybePromise<T>): v is Promise<T> => typeof (v as { then?: unknown } | null)?.then === 'function';

/** f applied to the value: at once when it is ready, after it when it is a promise. */
export const thenMaybe = <T, U>(v: MaybePromise<T>, f: (t: T) => U): MaybePromise<U> => (isThenable(v) ? v.then(f) : f(v));
