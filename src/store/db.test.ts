import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb, SQLITE_CACHE_KIB } from './db.js';

describe('openDb (SQLite)', () => {
  it('opens the file in WAL mode, synchronous NORMAL, with a 4 MiB page cache instead of the driver\'s 16 MiB', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fw-db-'));
    const db = openDb(`sqlite:${path.join(dir, 'x.db')}`);
    try {
      const sqlite = db.raw && 'sqlite' in db.raw ? db.raw.sqlite : null;
      expect(sqlite).not.toBeNull();
      expect(sqlite!.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(sqlite!.pragma('synchronous', { simple: true })).toBe(1);
      expect(SQLITE_CACHE_KIB).toBe(4096);
      expect(sqlite!.pragma('cache_size', { simple: true })).toBe(-4096);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
