// Turns text chosen by an authorization server (error codes, descriptions) into text that is safe
// for events, conditions and logs. Anything that might carry a credential is dropped, not redacted:
// a partly redacted string can still leak fragments of a secret.

/** Longest description kept; events and condition messages should stay short. */
export const MAX_DESCRIPTION_LENGTH = 200;

// Only this much is inspected; more is never shown anyway.
const MAX_INSPECTED_LENGTH = 4096;
// Control, format (bidi overrides, zero-width) and line/paragraph separators.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
// A JOSE header always starts with `{"` = `eyJ` in base64url; also any three-segment compact JWS.
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{4,}|[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;
// Runs of base64/base64url/hex alphabet: token-like when they mix letters and digits or are long.
const ALPHABET_RUN = /[A-Za-z0-9+/=_~-]{20,}/g;
// RFC 6749 error codes are short ASCII words; anything else is not repeated.
const ERROR_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;
// Secrets are also searched for by fragment: a server may echo a truncated credential.
const SECRET_WINDOW = 12;

/** True when `text` contains something that looks like a token, a JWT or long encoded data. */
export function looksLikeCredential(text: string): boolean {
  if (JWT_LIKE.test(text)) return true;
  for (const [run] of text.matchAll(ALPHABET_RUN)) {
    if (run.length >= 40 || (/[0-9]/.test(run) && /[A-Za-z]/.test(run))) return true;
  }
  return false;
}

/** True when `text` contains any secret, a 12-character fragment of one, or its URL encoding. */
export function containsSecret(text: string, secrets: readonly string[]): boolean {
  const haystack = text.toLowerCase();
  for (const secret of secrets) {
    if (secret === '') continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      const needle = form.toLowerCase();
      const width = Math.min(needle.length, SECRET_WINDOW);
      for (let i = 0; i + width <= needle.length; i++) {
        if (haystack.includes(needle.slice(i, i + width))) return true;
      }
    }
  }
  return false;
}

/** Printable single-line text: unprintable characters become spaces, whitespace is collapsed. */
export function printable(text: string): string {
  return text.slice(0, MAX_INSPECTED_LENGTH).replace(UNPRINTABLE, ' ').replace(/\s+/g, ' ').trim();
}

export type SanitizedDescription =
  | { kind: 'kept'; text: string }
  | { kind: 'withheld' } // it looked like it carried a credential
  | { kind: 'absent' };

/** A short, printable `error_description`, or the reason there is none. */
export function sanitizeDescription(value: unknown, secrets: readonly string[] = []): SanitizedDescription {
  if (typeof value !== 'string') return { kind: 'absent' };
  const text = printable(value);
  if (text === '') return { kind: 'absent' };
  // Checked on the whole inspected text, before truncation could cut a token in half.
  if (looksLikeCredential(text) || containsSecret(text, secrets)) return { kind: 'withheld' };
  if (text.length <= MAX_DESCRIPTION_LENGTH) return { kind: 'kept', text };
  return { kind: 'kept', text: `${text.slice(0, MAX_DESCRIPTION_LENGTH - 1).trimEnd()}…` };
}

/** An OAuth `error` code fit to repeat, or undefined. */
export function sanitizeErrorCode(value: unknown, secrets: readonly string[] = []): string | undefined {
  if (typeof value !== 'string' || !ERROR_CODE.test(value)) return undefined;
  if (looksLikeCredential(value) || containsSecret(value, secrets)) return undefined;
  return value;
}

/** A machine code (`ECONNRESET`, `OAUTH_TIMEOUT`, `TimeoutError`) fit to repeat. */
export function sanitizeMachineCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z][A-Za-z0-9_]{1,63}$/.test(value) ? value : undefined;
}
