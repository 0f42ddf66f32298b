// Packages that only some configurations use (PostgreSQL, the image captcha) are loaded on first use, so
// a default instance does not carry them in memory. For CommonJS packages: require() is synchronous, so
// the code that needs one stays synchronous. (ESM-first packages are loaded with `await import()`.)
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A getter that loads the package `id` the first time it is called (Node caches it after that). */
export function loadLater<T>(id: string): () => T {
  return () => require(id) as T;
}
