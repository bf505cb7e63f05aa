/**
 * Pages are template literals through ONE helper: `html` escapes every interpolated value unless it is
 * markup that `html` itself produced (a nested template), so a value from Kafka, a form or a header can
 * never become markup. Arrays are joined; null and undefined render as nothing.
 */
const MARKUP = Symbol('markup');

export interface Markup {
  readonly [MARKUP]: true;
  readonly text: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string);
}

function isMarkup(value: unknown): value is Markup {
  return typeof value === 'object' && value !== null && MARKUP in value;
}

function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (isMarkup(value)) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Markup {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    text += render(value) + (strings[i + 1] ?? '');
  });
  return { [MARKUP]: true, text };
}
