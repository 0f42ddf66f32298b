import { describe, it, expect } from 'vitest';
import { SYSTEM_PLACEHOLDERS, isSystemPlaceholder, placeholderNames, scanTemplate } from './placeholders.js';

describe('scanTemplate', () => {
  it('finds placeholders with and without inner whitespace', () => {
    const scan = scanTemplate('Hi {{name}}, ref {{ receipt_id }} {{\n message\t}}');
    expect(scan.refs.map((r) => [r.name, r.raw, r.index])).toEqual([
      ['name', '{{name}}', 3],
      ['receipt_id', '{{ receipt_id }}', 17],
      ['message', '{{\n message\t}}', 34],
    ]);
    expect(scan.malformed).toEqual([]);
    expect(scan.unclosed).toEqual([]);
  });
  it('reports the inner placeholder of triple braces and flags the triple as malformed', () => {
    const scan = scanTemplate('{{{message}}}');
    expect(scan.refs.map((r) => r.name)).toEqual(['message']);
    expect(scan.malformed.map((r) => r.raw)).toEqual(['{{{message}}']);
  });
  it('flags helpers, filters and empty braces as malformed', () => {
    const scan = scanTemplate('{{#each x}} {{ message | raw }} {{}} {{a b}}');
    expect(scan.malformed.map((r) => r.raw)).toEqual(['{{#each x}}', '{{ message | raw }}', '{{}}', '{{a b}}']);
    expect(scan.refs).toEqual([]);
  });
  it('flags nested braces as malformed but still sees the inner name', () => {
    const scan = scanTemplate('{{ {{message}} }}');
    expect(scan.refs.map((r) => r.name)).toEqual(['message']);
    expect(scan.malformed.map((r) => r.raw)).toEqual(['{{ {{message}}']);
  });
  it('reports unclosed braces', () => {
    expect(scanTemplate('Hello {{name').unclosed).toEqual([6]);
    expect(scanTemplate('{{a}} then {{b').unclosed).toEqual([11]);
  });
  it('accepts dashed and dotted names', () => {
    expect(placeholderNames('{{first-name}} {{a.b}} {{first-name}}')).toEqual(['first-name', 'a.b']);
  });
});

describe('system placeholders', () => {
  it('are exactly the four documented ones', () => {
    expect([...SYSTEM_PLACEHOLDERS]).toEqual(['receipt_id', 'submitted_at', 'form_title', 'site_name']);
    expect(isSystemPlaceholder('site_name')).toBe(true);
    expect(isSystemPlaceholder('name')).toBe(false);
  });
});
