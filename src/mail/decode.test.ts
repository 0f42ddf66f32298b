// The decoded view of a stored message, shared by `formwarden mail show` and the console: MIME words,
// quoted-printable and base64 decoded; the text form is exactly what `mail show` prints.
import { describe, expect, it } from 'vitest';
import { decodedMessage, decodeMail } from './decode.js';

const RAW = [
  'From: Example Shop <info@example.jp>',
  'To: owner@example.jp',
  'Reply-To: =?UTF-8?B?5bGx55SwIOiKseWtkA==?= <hanako@example.jp>',
  'Subject: =?UTF-8?B?W0NvbnRhY3RdIOWxseeUsCDoirHlrZA=?=',
  'Date: Fri, 04 Dec 2026 00:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  '=E8=A6=8B=E7=A9=8D=E3=82=82=E3=82=8A=E3=82=92=E3=81=8A=E9=A1=98=E3=81=84=E3=81=97=E3=81=BE=E3=81=99',
  '',
].join('\r\n');

describe('decodeMail / decodedMessage', () => {
  it('decodes headers and the text part', async () => {
    expect(await decodeMail(RAW)).toEqual({
      from: '"Example Shop" <info@example.jp>',
      to: 'owner@example.jp',
      replyTo: '"山田 花子" <hanako@example.jp>',
      subject: '[Contact] 山田 花子',
      date: '2026-12-04T00:00:00.000Z',
      attachments: [],
      text: '見積もりをお願いします\n',
    });
  });

  it('prints the text form `mail show` has always printed (no Reply-To line without one)', async () => {
    expect(await decodedMessage(RAW)).toBe(
      'From:      "Example Shop" <info@example.jp>\nTo:        owner@example.jp\nReply-To:  "山田 花子" <hanako@example.jp>\nSubject:   [Contact] 山田 花子\nDate:      2026-12-04T00:00:00.000Z\n\n見積もりをお願いします\n',
    );
    expect(await decodedMessage(RAW.replace(/^Reply-To:.*\r\n/m, ''))).not.toContain('Reply-To');
  });
});
