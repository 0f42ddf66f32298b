// What a visitor typed reaches the owner's terminal through `mail list`, `mail show` and `submissions list`
// (class 10 of issue #10): ESC/CSI/OSC sequences, C1 codes and bidi overrides in the form fields must come out
// as visible escapes, in text and JSON output alike, while the stored data keeps them as they were typed.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { hostileText, TERMINAL_CONTROL } from '../../test/support/hostile-text.js';
import { OPEN_DEFENSES, startTestInstance, testConfigYaml, type TestInstance } from '../../test/support/instance.js';
import { runCliAsync } from '../../test/support/process.js';

describe.skipIf(dbUnavailable())('CLI output of visitor text', () => {
  let db: TestDatabase;
  let t: TestInstance;
  let config: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    config = path.join(db.dir, 'formwarden.yaml');
    writeFileSync(config, testConfigYaml({ dbUrl: db.url, defenses: OPEN_DEFENSES }));
    t = await startTestInstance({ db, startWorker: false, defenses: OPEN_DEFENSES });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('mail list, mail show and submissions list neutralise control characters and bidi overrides', async () => {
    // The form refuses C0 controls (ESC included) at the door; C1 codes (U+009B is CSI), bidi overrides and a
    // lone CR in a message pass validation and are stored.
    const visitor = hostileText.map((s) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, ''));
    const samples = fc.sample(fc.tuple(visitor, visitor), { numRuns: 6, seed: 7 });
    for (const [name, message] of samples) {
      const res = await fetch(`${t.url}/api/forms/contact/submissions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `N${name.replace(/[\r\n]/g, '')}`.slice(0, 80), email: 'visitor@example.com', message: `m${message}`, _token: t.instance.defenses.tokens.issueToken('contact', new Date()), website: '' }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    await t.instance.worker.drain();
    const stored = await t.instance.db.kysely.selectFrom('outbox').select(['id', 'subject', 'body']).where('kind', '=', 'notify').execute();
    // The attack reached the stored mail (otherwise this test would prove nothing).
    expect(stored.some((m) => TERMINAL_CONTROL.test(m.body))).toBe(true);
    const outputs = await Promise.all([
      runCliAsync(['--config', config, 'mail', 'list']),
      runCliAsync(['--config', config, 'mail', 'list', '--json']),
      runCliAsync(['--config', config, 'submissions', 'list']),
      runCliAsync(['--config', config, 'submissions', 'list', '--json']),
      ...stored.slice(0, 3).flatMap((m) => [runCliAsync(['--config', config, 'mail', 'show', m.id]), runCliAsync(['--config', config, 'mail', 'show', m.id, '--json'])]),
    ]);
    for (const o of outputs) {
      expect(o.status, o.stderr).toBe(0);
      expect(o.stdout).not.toMatch(TERMINAL_CONTROL);
    }
    // JSON output still carries the data exactly.
    const listed = JSON.parse(outputs[1]!.stdout) as Array<{ id: string; subject: string }>;
    for (const m of stored) expect(listed.find((l) => l.id === m.id)?.subject).toBe(m.subject);
  }, 240_000);
});
