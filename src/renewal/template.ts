// The Secret's extra keys: plain text with `{{ name }}` placeholders and no logic at all, so a
// template can never execute anything or reach beyond the token response.

export const placeholders = ['token', 'token_type', 'expires_at', 'scope'] as const;
export type Placeholder = (typeof placeholders)[number];
export type TemplateValues = Readonly<Record<Placeholder, string>>;

export type RenderResult = { ok: true; value: string } | { ok: false; message: string };

const isPlaceholder = (name: string): name is Placeholder =>
  (placeholders as readonly string[]).includes(name);
const known = placeholders.map((name) => `{{ ${name} }}`).join(', ');
const quoted = (text: string): string => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

/**
 * Replaces each `{{ name }}` (spaces inside the braces optional) with its value. Every `{{`
 * opens a placeholder: an unknown name or a `{{` without `}}` is an error naming the problem
 * (there is no escape; no value the operator writes needs one). Messages quote the template,
 * never the values, so they cannot leak a token.
 */
export function renderTemplate(template: string, values: TemplateValues): RenderResult {
  let out = '';
  let pos = 0;
  for (;;) {
    const open = template.indexOf('{{', pos);
    if (open === -1) return { ok: true, value: out + template.slice(pos) };
    const close = template.indexOf('}}', open + 2);
    if (close === -1) {
      return {
        ok: false,
        message: `unterminated placeholder at ${quoted(template.slice(open))}: missing }}`,
      };
    }
    const name = template.slice(open + 2, close).trim();
    if (!isPlaceholder(name)) {
      return {
        ok: false,
        message: `unknown placeholder {{ ${quoted(name).slice(1, -1)} }}; known: ${known}`,
      };
    }
    out += template.slice(pos, open) + values[name];
    pos = close + 2;
  }
}
