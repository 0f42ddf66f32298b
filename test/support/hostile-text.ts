// Text an attacker puts into a bounce or a form field to reach the owner's terminal: printable text (ASCII,
// Japanese, emoji) mixed with ESC/CSI/OSC/DCS sequences, C1 codes, lone CRs and bidi controls.
import fc from 'fast-check';

/** What a terminal must never receive from outside text (tab and line feed are allowed where output is multi-line). */
export const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const CONTROLS = [...'\u0000\u0007\u0008\u000b\u000c\u000d\u001b\u007f\u0080\u0085\u008d\u009b\u009d\u009f\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069'];

export const hostileText = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 8 }),
      fc.constantFrom(...CONTROLS),
      fc.constantFrom('\u001b[2J', '\u001b]0;pwned\u0007', '\u001b[31m', '\u009b6n', '\u001bP+q\u001b\\', '\r', '\r\n', '\n', '\t', '田中\u202eexe.txt'),
    ),
    { minLength: 1, maxLength: 40 },
  )
  .map((parts) => parts.join(''));
