// Class 10 of issue #10 (terminal escapes): whatever text a bounce or a visitor sends, what the CLI prints
// holds no character a terminal acts on, keeps everything else as it was, and JSON output still parses back
// to the same data.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostileText, TERMINAL_CONTROL } from '../../test/support/hostile-text.js';
import { jsonTerminalSafe, terminalSafe } from './terminal-safe.js';

describe('terminalSafe', () => {
  it('leaves no control character, bidi override or line break in one-line output', () => {
    fc.assert(
      fc.property(hostileText, (s) => {
        const out = terminalSafe(s);
        expect(out).not.toMatch(TERMINAL_CONTROL);
        expect(out).not.toContain('\n');
      }),
    );
  });

  it('keeps line breaks (as LF) and tabs in multi-line output, and nothing else that drives the terminal', () => {
    fc.assert(
      fc.property(hostileText, (s) => {
        const out = terminalSafe(s, { newlines: true });
        expect(out).not.toMatch(TERMINAL_CONTROL);
        expect(out.split('\n')).toHaveLength(s.replace(/\r\n/g, '\n').split('\n').length);
        expect(terminalSafe(s, { newlines: true, tabs: false })).not.toContain('\t');
      }),
    );
  });

  it('passes safe text through unchanged, and shows each control as a visible escape', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        fc.pre(!TERMINAL_CONTROL.test(s) && !s.includes('\n'));
        expect(terminalSafe(s)).toBe(s);
      }),
    );
    expect(terminalSafe('a\u001b[2Jb\u009bc\u202ed')).toBe('a\\x1b[2Jb\\x9bc\\u202ed');
  });
});

describe('jsonTerminalSafe', () => {
  it('JSON output keeps its data exactly and carries no character a terminal acts on', () => {
    fc.assert(
      fc.property(fc.oneof(hostileText, fc.jsonValue(), fc.dictionary(hostileText, hostileText)), (v) => {
        const out = jsonTerminalSafe(JSON.stringify(v, null, 2));
        expect(out.replace(/\n/g, '')).not.toMatch(TERMINAL_CONTROL);
        expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });
});
