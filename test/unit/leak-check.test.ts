import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { findLeaks, registerSecret } from '../support/leak-check.ts';

describe('leak check', () => {
  it('finds a registered token and names only where it was found', () => {
    registerSecret('eyJhbGciOiJSUzI1NiJ9.payload-of-a-token.signature');
    const leaks = findLeaks([
      ['log line 1', '{"msg":"renewed"}'],
      ['event shop/x', 'RenewalFailed got eyJhbGciOiJSUzI1NiJ9.payload-of-a-token.signature back'],
    ]);
    assert.deepEqual(leaks, ['event shop/x']);
  });

  it('finds a single line of a registered PEM private key', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    registerSecret(pem.toString());
    const line = pem.toString().split('\n')[1];
    assert.deepEqual(findLeaks([['status', `{"message":"${line}"}`]]), ['status']);
  });
});
