import { describe, it, expect } from 'vitest';
import { formatRelayReport, relayRisks } from './risks.js';
import type { RelayAutoreplyView, RelayFormView } from './types.js';

function form(autoreply: Partial<RelayAutoreplyView> | null, notifyTo: string[] = ['owner@example.com']): RelayFormView {
  return {
    id: 'contact',
    fields: [
      { name: 'name', type: 'text' },
      { name: 'email', type: 'email' },
      { name: 'message', type: 'textarea' },
    ],
    notify: { to: notifyTo, subject: 'New', body: '{{message}}' },
    autoreply:
      autoreply === null
        ? null
        : { enabled: true, to: 'email', subject: 'Thanks', body: 'Ref {{receipt_id}}', echo: 'none', ...autoreply },
  };
}

const DEFAULT_PROTECTIONS = ['cap 1/address/24h', 'cap 5/domain/1h', 'cap 20/form/1h', 'cap 100/form/24h', 'global cap 200/1h, 1000/24h'];

describe('relayRisks', () => {
  it('no auto-reply and owner recipients: nothing goes to a visitor address', () => {
    expect(relayRisks(form(null))).toEqual([]);
  });
  it('a disabled auto-reply sends nothing', () => {
    expect(relayRisks(form({ enabled: false }))).toEqual([]);
  });
  it('echo none with default caps', () => {
    expect(relayRisks(form({}))).toEqual([
      {
        form: 'contact',
        mail: 'autoreply',
        recipientField: 'email',
        echo: 'none',
        echoedFields: [],
        protections: ['echo: none (no visitor text)', 'recipient field email is type email (one validated address)', ...DEFAULT_PROTECTIONS],
        unprotected: false,
      },
    ]);
  });
  it('echo sanitized lists the echoed fields and sanitizer limits', () => {
    const [risk] = relayRisks(form({ echo: 'sanitized', body: '{{name}}: {{message}}', caps: { perFormHour: 5 } }));
    expect(risk?.echoedFields).toEqual(['name', 'message']);
    expect(risk?.protections).toEqual([
      'echo: sanitized (name, message: links, addresses and phone numbers stripped; name <= 40 chars, others <= 200)',
      'recipient field email is type email (one validated address)',
      'cap 1/address/24h',
      'cap 5/domain/1h',
      'cap 5/form/1h',
      'cap 100/form/24h',
      'global cap 200/1h, 1000/24h',
    ]);
    expect(risk?.unprotected).toBe(false);
  });
  it('visitor text with caps: null is unprotected', () => {
    const [risk] = relayRisks(form({ echo: 'sanitized', body: '{{message}}', caps: null }));
    expect(risk?.unprotected).toBe(true);
    expect(risk?.protections).toEqual([
      'echo: sanitized (message: links, addresses and phone numbers stripped; name <= 40 chars, others <= 200)',
      'recipient field email is type email (one validated address)',
      'global cap 200/1h, 1000/24h',
    ]);
  });
  it('no visitor text with caps: null is not unprotected (lint warns)', () => {
    expect(relayRisks(form({ caps: null }))[0]?.unprotected).toBe(false);
  });
  it('visitor text in the subject is never listed as sanitized', () => {
    const [risk] = relayRisks(form({ echo: 'sanitized', subject: 'Hi {{name}}', caps: null }));
    expect(risk?.protections).toEqual(['recipient field email is type email (one validated address)', 'global cap 200/1h, 1000/24h']);
    expect(risk?.unprotected).toBe(true);
  });
  it('echo none but visitor text in the body (lint error): no echo protection claimed', () => {
    const [risk] = relayRisks(form({ body: '{{message}}' }));
    expect(risk?.protections[0]).toBe('recipient field email is type email (one validated address)');
    expect(risk?.echoedFields).toEqual(['message']);
  });
  it('a visitor-chosen notification recipient is always unprotected', () => {
    expect(relayRisks(form(null, ['owner@example.com', '{{ email }}']))).toEqual([
      {
        form: 'contact',
        mail: 'notify',
        recipientField: 'email',
        echo: 'none',
        echoedFields: ['name', 'email', 'message'],
        protections: [],
        unprotected: true,
      },
    ]);
    expect(relayRisks(form(null, ['Email']))[0]?.recipientField).toBe('email');
  });
});

describe('formatRelayReport', () => {
  it('says so when nothing goes to a visitor address', () => {
    expect(formatRelayReport([])).toBe('No mail goes to an address typed into a form.');
  });
  it('renders protected and unprotected mails', () => {
    const risks = [
      ...relayRisks(form({})),
      ...relayRisks({ ...form({ echo: 'sanitized', body: '{{message}}', caps: null }, ['email']), id: 'quote' }),
    ];
    expect(formatRelayReport(risks)).toBe(
      [
        'Mail sent to addresses typed into a form:',
        '  forms[contact].autoreply -> visitor field email',
        '    - echo: none (no visitor text)',
        '    - recipient field email is type email (one validated address)',
        '    - cap 1/address/24h',
        '    - cap 5/domain/1h',
        '    - cap 20/form/1h',
        '    - cap 100/form/24h',
        '    - global cap 200/1h, 1000/24h',
        '  UNPROTECTED forms[quote].autoreply -> visitor field email',
        '    carries visitor text (message) with every cap off; serve refuses this form',
        '    - echo: sanitized (message: links, addresses and phone numbers stripped; name <= 40 chars, others <= 200)',
        '    - recipient field email is type email (one validated address)',
        '    - global cap 200/1h, 1000/24h',
        '  UNPROTECTED forms[quote].notify -> visitor field email',
        '    carries the whole submission to an address the visitor chose; serve refuses this form',
        '2 unprotected: fix them before serving.',
      ].join('\n'),
    );
  });
  it('ends with "All protected." when nothing is unprotected', () => {
    expect(formatRelayReport(relayRisks(form({}))).endsWith('\nAll protected.')).toBe(true);
  });
});
