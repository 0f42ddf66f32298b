import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { lintForm, visitorFieldsIn } from './template-lint.js';
import type { RelayAutoreplyView, RelayFormView } from './types.js';

function form(over: Partial<Omit<RelayFormView, 'autoreply'>> & { autoreply?: Partial<RelayAutoreplyView> | null } = {}): RelayFormView {
  const { autoreply, ...rest } = over;
  return {
    id: 'contact',
    fields: [
      { name: 'name', type: 'text' },
      { name: 'email', type: 'email' },
      { name: 'phone', type: 'tel' },
      { name: 'message', type: 'textarea' },
      { name: 'ref', type: 'hidden' },
    ],
    notify: { to: ['owner@example.com'], subject: 'New inquiry from {{name}}', body: '{{message}}\n{{email}} {{receipt_id}}' },
    ...rest,
    autoreply:
      autoreply === null
        ? null
        : {
            enabled: true,
            to: 'email',
            subject: 'Thanks for contacting {{site_name}}',
            body: 'We received your message ({{receipt_id}}) at {{submitted_at}} via {{ form_title }}.',
            echo: 'none',
            ...autoreply,
          },
  };
}

const codes = (f: RelayFormView): string[] => lintForm(f).map((i) => i.code);

describe('lintForm: clean config', () => {
  it('a safe form has no issues', () => {
    expect(lintForm(form())).toEqual([]);
  });
  it('a form without auto-reply is checked for notify only', () => {
    expect(lintForm(form({ autoreply: null }))).toEqual([]);
  });
});

describe('lintForm: auto-reply echo', () => {
  it('echo none + visitor field in body: exact error naming field, risk and both fixes', () => {
    const issues = lintForm(form({ autoreply: { body: 'You wrote: {{message}}' } }));
    expect(issues).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].autoreply.body',
        code: 'E_AUTOREPLY_ECHO',
        message:
          'forms[contact].autoreply.body uses the visitor field {{message}}: a bot can put a spam link in that field and the auto-reply will carry it to any address it types. Fix: remove {{message}} from the auto-reply (system placeholders {{receipt_id}}, {{submitted_at}}, {{form_title}}, {{site_name}} are safe), or set autoreply.echo: sanitized to include it with links, addresses and phone numbers stripped.',
      },
    ]);
  });
  it('one issue per field per template, in order of first use', () => {
    const issues = lintForm(form({ autoreply: { body: '{{ name }} {{message}} {{name}} {{ref}}' } }));
    expect(issues.map((i) => [i.code, /visitor field (\{\{\w+\}\})/.exec(i.message)?.[1]])).toEqual([
      ['E_AUTOREPLY_ECHO', '{{name}}'],
      ['E_AUTOREPLY_ECHO', '{{message}}'],
      ['E_AUTOREPLY_ECHO', '{{ref}}'],
    ]);
  });
  it('hidden fields are visitor fields too', () => {
    expect(codes(form({ autoreply: { body: '{{ref}}' } }))).toEqual(['E_AUTOREPLY_ECHO']);
  });
  it('triple braces cannot smuggle a field past the check', () => {
    expect(codes(form({ autoreply: { body: '{{{message}}}' } }))).toEqual(['E_AUTOREPLY_ECHO', 'E_TEMPLATE_SYNTAX']);
  });
  it('echo sanitized allows visitor fields in the body', () => {
    expect(lintForm(form({ autoreply: { body: 'You wrote: {{message}}', echo: 'sanitized' } }))).toEqual([]);
  });
  it('echo sanitized refuses email, tel and url fields: their whole value is contact data', () => {
    expect(lintForm(form({ autoreply: { body: 'We will call {{ phone }} or write to {{email}}.', echo: 'sanitized' } }))).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].autoreply.body',
        code: 'E_AUTOREPLY_ECHO_CONTACT_FIELD',
        message:
          'forms[contact].autoreply.body uses the tel field {{phone}}: its whole value is an address, phone number or link, which echo: sanitized cannot make safe. Fix: remove {{phone}} from the auto-reply; echo only free-text fields such as a name or a message.',
      },
      {
        severity: 'error',
        path: 'forms[contact].autoreply.body',
        code: 'E_AUTOREPLY_ECHO_CONTACT_FIELD',
        message:
          'forms[contact].autoreply.body uses the email field {{email}}: its whole value is an address, phone number or link, which echo: sanitized cannot make safe. Fix: remove {{email}} from the auto-reply; echo only free-text fields such as a name or a message.',
      },
    ]);
    // A disabled auto-reply reports it as a warning.
    expect(lintForm(form({ autoreply: { body: '{{email}}', echo: 'sanitized', enabled: false } })).map((i) => i.severity)).toEqual(['warning']);
  });
  it('property: with echo sanitized, a body is refused exactly when it uses an email, tel or url field', () => {
    const types = ['text', 'email', 'tel', 'url', 'textarea', 'select', 'checkbox', 'radio', 'hidden'] as const;
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), fc.constantFrom(...types)), {
          minLength: 1,
          maxLength: 6,
          selector: ([n]) => n,
        }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (defs, picks) => {
          const fields = [{ name: 'email', type: 'email' as const }, ...defs.filter(([n]) => n !== 'email').map(([name, type]) => ({ name, type }))]
            .filter((f) => !['receipt_id', 'submitted_at', 'form_title', 'site_name'].includes(f.name));
          const used = picks.map((p) => fields[p % fields.length]?.name ?? 'email');
          const body = `Thanks. ${used.map((n) => `{{${n}}}`).join(' ')}`;
          const f = form({ fields, autoreply: { body, echo: 'sanitized' } });
          const refused = lintForm(f).filter((i) => i.code === 'E_AUTOREPLY_ECHO_CONTACT_FIELD').map((i) => /\{\{(\w+)\}\}/.exec(i.message)?.[1]);
          const expected = [...new Set(used)].filter((n) => ['email', 'tel', 'url'].includes(fields.find((x) => x.name === n)?.type ?? ''));
          expect(refused).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('lintForm: auto-reply subject', () => {
  const subjectMessage =
    'forms[contact].autoreply.subject uses the visitor field {{name}}: the subject is the first thing a recipient sees and cannot be sanitized safely. Fix: use only owner-written text and system placeholders in the subject.';
  it.each(['none', 'sanitized'] as const)('visitor field in subject is an error with echo %s', (echo) => {
    expect(lintForm(form({ autoreply: { subject: 'Thanks {{name}}', echo } }))).toEqual([
      { severity: 'error', path: 'forms[contact].autoreply.subject', code: 'E_AUTOREPLY_SUBJECT_FIELD', message: subjectMessage },
    ]);
  });
});

describe('lintForm: placeholders', () => {
  it('unknown placeholder is an error, once per name', () => {
    const issues = lintForm(form({ autoreply: { body: '{{recipt_id}} {{recipt_id}}' } }));
    expect(issues).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].autoreply.body',
        code: 'E_UNKNOWN_PLACEHOLDER',
        message:
          'forms[contact].autoreply.body uses the unknown placeholder {{recipt_id}}: it is neither a field of this form nor a system placeholder ({{receipt_id}}, {{submitted_at}}, {{form_title}}, {{site_name}}). Fix: correct the name or add the field to the form.',
      },
    ]);
  });
  it('placeholder names are case-sensitive', () => {
    expect(codes(form({ autoreply: { body: '{{Message}}' } }))).toEqual(['E_UNKNOWN_PLACEHOLDER']);
  });
  it('unknown placeholders in notify templates are errors too', () => {
    const issues = lintForm(form({ notify: { to: ['o@example.com'], subject: '{{nmae}}', body: '' } }));
    expect(issues.map((i) => [i.path, i.code])).toEqual([['forms[contact].notify.subject', 'E_UNKNOWN_PLACEHOLDER']]);
  });
  it('malformed placeholders are errors with the exact text', () => {
    const issues = lintForm(form({ autoreply: { body: 'Hi {{ message | raw }}' } }));
    expect(issues).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].autoreply.body',
        code: 'E_TEMPLATE_SYNTAX',
        message:
          'forms[contact].autoreply.body contains {{ message | raw }}, which is not a plain placeholder: only {{name}} (spaces allowed inside the braces) is supported. Fix: write {{name}} or remove the braces.',
      },
    ]);
  });
  it('unclosed braces are a warning', () => {
    expect(lintForm(form({ autoreply: { body: 'Hi {{name' } }))).toEqual([
      {
        severity: 'warning',
        path: 'forms[contact].autoreply.body',
        code: 'W_TEMPLATE_UNCLOSED',
        message: 'forms[contact].autoreply.body has a "{{" that is never closed; it is sent as literal text. Fix: close it with "}}" or remove it.',
      },
    ]);
  });
  it('a field named like a system placeholder is an error and counts as a visitor field', () => {
    const f = form({ fields: [{ name: 'email', type: 'email' }, { name: 'site_name', type: 'text' }], autoreply: { body: '', subject: 'From {{site_name}}' }, notify: { to: ['o@example.com'], subject: 's', body: 'b' } });
    const issues = lintForm(f);
    expect(issues[0]).toEqual({
      severity: 'error',
      path: 'forms[contact].fields[1].name',
      code: 'E_FIELD_SHADOWS_SYSTEM',
      message:
        'forms[contact].fields[1].name is site_name, the name of a system placeholder: the visitor would control what {{site_name}} looks like. Fix: rename the field.',
    });
    expect(issues.map((i) => i.code)).toEqual(['E_FIELD_SHADOWS_SYSTEM', 'E_AUTOREPLY_SUBJECT_FIELD']);
  });
});

describe('lintForm: notification recipients', () => {
  const visitorMessage = (i: number, field: string): string =>
    `forms[contact].notify.to[${i}] comes from the visitor field ${field}: a notification recipient must be an address you own, never one typed into the form. Fix: list the owner's addresses in notify.to; the visitor's address is already set as Reply-To.`;
  it.each(['{{email}}', '{{ email }}', 'email', ' EMAIL '])('%j is an error naming the field', (entry) => {
    expect(lintForm(form({ notify: { to: [entry], subject: 's', body: 'b' } }))).toEqual([
      { severity: 'error', path: 'forms[contact].notify.to[0]', code: 'E_NOTIFY_TO_VISITOR', message: visitorMessage(0, 'email') },
    ]);
  });
  it('any visitor field counts, at any index, and embedded in text', () => {
    const issues = lintForm(form({ notify: { to: ['owner@example.com', 'ref', 'x {{name}}@example.com'], subject: 's', body: 'b' } }));
    expect(issues.map((i) => i.message)).toEqual([visitorMessage(1, 'ref'), visitorMessage(2, 'name')]);
  });
  it('a non-field placeholder is an error too', () => {
    expect(lintForm(form({ notify: { to: ['{{site_name}}'], subject: 's', body: 'b' } }))).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].notify.to[0]',
        code: 'E_NOTIFY_TO_PLACEHOLDER',
        message:
          "forms[contact].notify.to[0] is a placeholder ({{site_name}}): a notification recipient must be a literal address you own. Fix: list the owner's addresses in notify.to.",
      },
    ]);
  });
  it('something that is not an address is an error', () => {
    expect(lintForm(form({ notify: { to: ['owner'], subject: 's', body: 'b' } }))).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].notify.to[0]',
        code: 'E_NOTIFY_TO_INVALID',
        message: 'forms[contact].notify.to[0] ("owner") is not an email address. Fix: write a full address such as owner@example.com.',
      },
    ]);
  });
  it('display-name addresses are fine; an empty list is an error', () => {
    expect(codes(form({ notify: { to: ['Owner <owner@example.com>'], subject: 's', body: 'b' } }))).toEqual([]);
    expect(lintForm(form({ notify: { to: [], subject: 's', body: 'b' } }))).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].notify.to',
        code: 'E_NOTIFY_TO_EMPTY',
        message: "forms[contact].notify.to is empty: every inquiry would be dropped. Fix: list the owner's addresses in notify.to.",
      },
    ]);
  });
  it('visitor fields in notify subject and body are fine (they go to the owner)', () => {
    expect(lintForm(form({ notify: { to: ['o@example.com'], subject: '{{name}}', body: '{{message}} {{email}} {{phone}} {{ref}}' } }))).toEqual([]);
  });
});

describe('lintForm: auto-reply recipient', () => {
  it('unknown field', () => {
    expect(lintForm(form({ autoreply: { to: 'mail' } }))).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].autoreply.to',
        code: 'E_AUTOREPLY_TO_UNKNOWN_FIELD',
        message:
          'forms[contact].autoreply.to is "mail", which is not a field of this form. Fix: set autoreply.to to the name of the form\'s email field (for example email).',
      },
    ]);
  });
  it('field of the wrong type', () => {
    expect(lintForm(form({ autoreply: { to: 'phone' } }))).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].autoreply.to',
        code: 'E_AUTOREPLY_TO_NOT_EMAIL',
        message:
          'forms[contact].autoreply.to names the field phone of type tel: an auto-reply can only go to a field of type email, which is validated as a single address. Fix: point autoreply.to at an email field.',
      },
    ]);
    expect(codes(form({ autoreply: { to: 'ref' } }))).toEqual(['E_AUTOREPLY_TO_NOT_EMAIL']);
  });
  it('placeholder syntax instead of a field name', () => {
    expect(lintForm(form({ autoreply: { to: '{{ email }}' } }))).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].autoreply.to',
        code: 'E_AUTOREPLY_TO_FORMAT',
        message: 'forms[contact].autoreply.to is {{ email }}, but it takes a field name, not a placeholder. Fix: write autoreply.to: email.',
      },
    ]);
  });
  it('a literal address is not a field', () => {
    expect(codes(form({ autoreply: { to: 'someone@example.com' } }))).toEqual(['E_AUTOREPLY_TO_UNKNOWN_FIELD']);
  });
});

describe('lintForm: caps', () => {
  it('caps: null with visitor text is an error', () => {
    const issues = lintForm(form({ autoreply: { echo: 'sanitized', body: '{{message}}', caps: null } }));
    expect(issues).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].autoreply.caps',
        code: 'E_AUTOREPLY_UNCAPPED',
        message:
          'forms[contact].autoreply.caps turns every cap off while the auto-reply carries visitor text: a bot could send it to any number of addresses. Fix: remove caps: null to use the default caps, or set autoreply.caps.perAddress.',
      },
    ]);
  });
  it('caps: null without visitor text is a warning', () => {
    expect(lintForm(form({ autoreply: { caps: null } }))).toEqual([
      {
        severity: 'warning',
        path: 'forms[contact].autoreply.caps',
        code: 'W_AUTOREPLY_UNCAPPED',
        message:
          'forms[contact].autoreply.caps turns every cap off: a bot can make the auto-reply flood any address it types (only the global cap applies). Fix: remove caps: null to use the default caps.',
      },
    ]);
  });
  it('every cap set to null counts as off; one left on is enough', () => {
    const off = { perAddress: null, perDomain: null, perFormHour: null, perFormDay: null };
    expect(codes(form({ autoreply: { echo: 'sanitized', body: '{{message}}', caps: off } }))).toEqual(['E_AUTOREPLY_UNCAPPED']);
    expect(codes(form({ autoreply: { echo: 'sanitized', body: '{{message}}', caps: { ...off, perFormDay: 10 } } }))).toEqual([]);
  });
  it('invalid numbers are errors', () => {
    const issues = lintForm(form({ autoreply: { caps: { perAddress: { count: 0, windowSeconds: 86400 } } } }));
    expect(issues).toEqual([
      {
        severity: 'error',
        path: 'forms[contact].autoreply.caps.perAddress.count',
        code: 'E_CAP_INVALID',
        message:
          'forms[contact].autoreply.caps.perAddress.count must be a whole number above 0, got 0. Fix: use a positive whole number, or remove it to use the default.',
      },
    ]);
  });
});

describe('lintForm: disabled auto-reply', () => {
  it('still reports, as warnings', () => {
    const issues = lintForm(form({ autoreply: { enabled: false, to: 'phone', body: '{{message}}' } }));
    expect(issues.map((i) => [i.severity, i.code])).toEqual([
      ['warning', 'E_AUTOREPLY_TO_NOT_EMAIL'],
      ['warning', 'E_AUTOREPLY_ECHO'],
    ]);
  });
  it('does not downgrade notify errors', () => {
    const issues = lintForm(form({ notify: { to: ['email'], subject: 's', body: 'b' }, autoreply: { enabled: false } }));
    expect(issues.map((i) => [i.severity, i.code])).toEqual([['error', 'E_NOTIFY_TO_VISITOR']]);
  });
});

describe('lintForm: paths use the form id', () => {
  it('uses the id given', () => {
    const issues = lintForm(form({ id: 'quote', autoreply: { body: '{{message}}' } }));
    expect(issues[0]?.path).toBe('forms[quote].autoreply.body');
    expect(issues[0]?.message.startsWith('forms[quote].autoreply.body uses the visitor field {{message}}')).toBe(true);
  });
});

describe('visitorFieldsIn', () => {
  it('lists distinct visitor fields only', () => {
    expect(visitorFieldsIn('{{name}} {{receipt_id}} {{ name }} {{nope}} {{email}}', form())).toEqual(['name', 'email']);
  });
});

describe('config type compatibility', () => {
  it('accepts a zod-like config object with extra keys', () => {
    const cfg = {
      id: 'contact',
      title: 'Contact',
      fields: [{ name: 'email', type: 'email' as const, required: true, label: 'E-mail' }],
      notify: { to: ['owner@example.com'], subject: 'New', body: '{{email}}', replyTo: 'email' },
      autoreply: { enabled: true, to: 'email', subject: 'Thanks', body: 'Got it {{receipt_id}}', echo: 'none' as const, caps: { perFormHour: 10 } },
    };
    expect(lintForm(cfg)).toEqual([]);
  });
});
