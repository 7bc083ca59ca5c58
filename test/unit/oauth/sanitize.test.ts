import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  containsSecret,
  looksLikeCredential,
  MAX_DESCRIPTION_LENGTH,
  sanitizeDescription,
  sanitizeErrorCode,
} from '../../../src/oauth/sanitize.ts';

const SECRET = 'Zq8p-client-secret-42';
const JWT =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJjbGllbnQiLCJleHAiOjE3OTY0MDAwMDB9.c2lnbmF0dXJlLWJ5dGVz';

describe('sanitizeDescription', () => {
  it('keeps an ordinary description', () => {
    assert.deepEqual(sanitizeDescription('requested scope is not allowed for this client', [SECRET]), {
      kind: 'kept',
      text: 'requested scope is not allowed for this client',
    });
  });

  it('withholds a description that quotes a JWT', () => {
    assert.deepEqual(sanitizeDescription(`token ${JWT} is not accepted`), { kind: 'withheld' });
    // Even the first two segments alone.
    assert.deepEqual(sanitizeDescription(`got ${JWT.split('.').slice(0, 2).join('.')}`), {
      kind: 'withheld',
    });
  });

  it('withholds a description that quotes long base64 or hex', () => {
    assert.deepEqual(sanitizeDescription('bad assertion dGhpcyBpcyBhIHNlY3JldCB2YWx1ZQ=='), {
      kind: 'withheld',
    });
    assert.deepEqual(sanitizeDescription('request 3f2a9c0e-8b7d-4e1f-9a6b-2c5d8e0f1a3b failed'), {
      kind: 'withheld',
    });
  });

  it('withholds a description containing the client secret, a fragment or its encoding', () => {
    for (const text of [
      `client secret ${SECRET} is wrong`,
      `client secret ${SECRET.toUpperCase()} is wrong`,
      `secret starts with ${SECRET.slice(0, 12)}`,
      `form ${encodeURIComponent('p@ss word&more')}`,
    ]) {
      assert.deepEqual(sanitizeDescription(text, [SECRET, 'p@ss word&more']), { kind: 'withheld' }, text);
    }
  });

  it('turns control and format characters into spaces', () => {
    const result = sanitizeDescription('bad\r\nX-Injected: yes\u0000\u202Eevil\u200B end\t', []);
    assert.deepEqual(result, { kind: 'kept', text: 'bad X-Injected: yes evil end' });
  });

  it('caps an overlong description', () => {
    const result = sanitizeDescription('word '.repeat(200));
    assert.equal(result.kind, 'kept');
    assert.ok(result.kind === 'kept' && result.text.length <= MAX_DESCRIPTION_LENGTH);
    assert.ok(result.kind === 'kept' && result.text.endsWith('…'));
  });

  it('inspects the whole text, not only what would be shown', () => {
    assert.deepEqual(sanitizeDescription(`${'word '.repeat(100)}${JWT}`), { kind: 'withheld' });
  });

  it('reports a missing or blank description as absent', () => {
    assert.deepEqual(sanitizeDescription(undefined), { kind: 'absent' });
    assert.deepEqual(sanitizeDescription(42), { kind: 'absent' });
    assert.deepEqual(sanitizeDescription(' \r\n '), { kind: 'absent' });
  });
});

describe('sanitizeErrorCode', () => {
  it('keeps RFC 6749 style codes', () => {
    assert.equal(sanitizeErrorCode('invalid_client'), 'invalid_client');
    assert.equal(sanitizeErrorCode('urn:example:error'), 'urn:example:error');
  });

  it('drops anything else', () => {
    for (const value of [undefined, '', 'has space', 'a'.repeat(65), 'bad\nline', JWT, 42]) {
      assert.equal(sanitizeErrorCode(value), undefined, String(value));
    }
    assert.equal(sanitizeErrorCode(SECRET, [SECRET]), undefined);
  });
});

describe('credential heuristics', () => {
  it('do not flag plain prose', () => {
    assert.equal(looksLikeCredential('Client authentication failed (unknown client)'), false);
    assert.equal(looksLikeCredential('invalid_client: client_credentials not allowed'), false);
  });

  it('ignore empty secrets', () => {
    assert.equal(containsSecret('anything at all', ['']), false);
  });
});
