import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bench/ folder and the project root. */
export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const projectRoot = path.resolve(benchDir, '..');
