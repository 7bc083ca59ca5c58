import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderTemplate, type TemplateValues } from '../../../src/renewal/template.ts';

const values: TemplateValues = {
  token: 'SECRET-TOKEN',
  token_type: 'Bearer',
  expires_at: '2026-12-04T16:00:00Z',
  scope: 'orders.read',
};

describe('renderTemplate', () => {
  const cases: { name: string; template: string; value: string }[] = [
    { name: 'a placeholder with spaces is filled in', template: '{{ token }}', value: 'SECRET-TOKEN' },
    { name: 'spaces inside the braces are optional', template: '{{token}}', value: 'SECRET-TOKEN' },
    { name: 'extra spaces and tabs are allowed', template: '{{   token\t}}', value: 'SECRET-TOKEN' },
    {
      name: 'all four placeholders are filled in',
      template: '{{ token_type }} {{ token }} until {{ expires_at }} for {{ scope }}',
      value: 'Bearer SECRET-TOKEN until 2026-12-04T16:00:00Z for orders.read',
    },
    { name: 'a placeholder may repeat', template: '{{token}}/{{token}}', value: 'SECRET-TOKEN/SECRET-TOKEN' },
    {
      name: 'JSON braces around a placeholder are kept',
      template: '{"auth":{"bearer":"{{ token }}"}}',
      value: '{"auth":{"bearer":"SECRET-TOKEN"}}',
    },
    { name: 'text without placeholders is unchanged', template: 'plain } text }}', value: 'plain } text }}' },
    { name: 'an empty template renders empty', template: '', value: '' },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(renderTemplate(c.template, values), { ok: true, value: c.value }));
  }

  const errors: { name: string; template: string; message: RegExp }[] = [
    {
      name: 'an unknown placeholder is an error',
      template: 'x {{ password }} y',
      message: /unknown placeholder \{\{ password \}\}; known: \{\{ token \}\}, \{\{ token_type \}\}/,
    },
    {
      name: 'placeholders are case-sensitive',
      template: '{{ Token }}',
      message: /unknown placeholder \{\{ Token \}\}/,
    },
    {
      name: 'Go template syntax is not supported',
      template: '{{ .Token }}',
      message: /unknown placeholder \{\{ \.Token \}\}/,
    },
    {
      name: 'an empty placeholder is an error',
      template: '{{}}',
      message: /unknown placeholder \{\{ {2}\}\}/,
    },
    {
      name: 'an unterminated placeholder is an error',
      template: 'a {{ token',
      message: /unterminated placeholder at "\{\{ token": missing \}\}/,
    },
    {
      name: 'triple braces are an error, not an escape',
      template: '{{{ token }}}',
      message: /unknown placeholder \{\{ \{ token \}\}/,
    },
    {
      name: 'a long unknown placeholder is shortened in the message',
      template: `{{ ${'x'.repeat(200)} }}`,
      message: /unknown placeholder \{\{ x{40}… \}\}/,
    },
  ];
  for (const c of errors) {
    test(c.name, () => {
      const result = renderTemplate(c.template, values);
      assert.ok(!result.ok);
      assert.match(result.message, c.message);
      assert.doesNotMatch(result.message, /SECRET-TOKEN/, 'messages never contain a value');
    });
  }

  test('an error after a filled placeholder does not leak the filled value', () => {
    const result = renderTemplate('{{ token }} {{ nope', values);
    assert.ok(!result.ok);
    assert.doesNotMatch(result.message, /SECRET-TOKEN/);
  });
});
