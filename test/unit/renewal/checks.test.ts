import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultChain, evaluate } from '../../../src/renewal/checks.ts';
import { decide } from '../../../src/renewal/decide.ts';
import {
  annotation,
  annotations,
  type Case,
  conflict,
  dataKey,
  decisionFields,
  due,
  editedData,
  expired,
  handled,
  healthy,
  issuerChanged,
  label,
  labels,
  manual,
  missing,
  noExpiresAt,
  now,
  otherOwner,
  renew,
  requested,
  specChanged,
  unmanaged,
  wait,
} from './check-input.ts';
import { at, MINUTE } from './fixtures.ts';

const cases: Case[] = [
  // Nothing to do
  { name: 'a fresh token waits until its renew-at', edits: [], expected: wait(at(40 * MINUTE)) },
  {
    name: 'one millisecond before renew-at still waits',
    edits: [now(40 * MINUTE - 1)],
    expected: wait(at(40 * MINUTE)),
  },
  // Each check on its own
  {
    name: 'an unlabelled Secret of the same name is a conflict',
    edits: [unmanaged],
    expected: conflict('SecretNotManaged'),
  },
  {
    name: 'a Secret managed by another operator is a conflict',
    edits: [label('app.kubernetes.io/managed-by', 'Helm')],
    expected: conflict('SecretNotManaged'),
  },
  {
    name: 'a Secret labelled for another TokenRequest is a conflict',
    edits: [otherOwner],
    expected: conflict('SecretOwnedByOther'),
  },
  {
    name: 'a managed Secret without the token-request label is a conflict',
    edits: [(i) => delete labels(i)['token-renewer.io/token-request']],
    expected: conflict('SecretOwnedByOther'),
  },
  {
    name: 'a missing Secret renews even though the token would be fresh',
    edits: [missing],
    expected: renew('SecretMissing'),
  },
  {
    name: 'a Secret without expires-at renews',
    edits: [noExpiresAt],
    expected: renew('SecretAnnotationsMissing'),
  },
  {
    name: 'a Secret with an unparseable renew-at renews',
    edits: [annotation('token-renewer.io/renew-at', 'tomorrow')],
    expected: renew('SecretAnnotationsMissing'),
  },
  {
    name: 'a Secret without the data hash renews',
    edits: [(i) => delete annotations(i)['token-renewer.io/data-hash']],
    expected: renew('SecretAnnotationsMissing'),
  },
  {
    name: 'a Secret whose token was edited by hand renews',
    edits: [editedData],
    expected: renew('SecretDataMismatch'),
  },
  {
    name: 'a Secret with a key added by hand renews',
    edits: [dataKey('extra', 'eA==')],
    expected: renew('SecretDataMismatch'),
  },
  { name: 'a changed spec renews at once', edits: [specChanged], expected: renew('SpecChanged') },
  {
    name: 'changed issuer credentials renew at once',
    edits: [issuerChanged],
    expected: renew('IssuerChanged'),
  },
  { name: 'a new renew-requested-at value renews once', edits: [manual], expected: renew('ManualRenewal') },
  {
    name: 'a renew-requested-at value already handled waits',
    edits: [handled('r1'), requested('r1')],
    expected: wait(at(40 * MINUTE)),
  },
  {
    name: 'a removed renew-requested-at annotation does not renew',
    edits: [handled('r1')],
    expected: wait(at(40 * MINUTE)),
  },
  { name: 'an expired token renews', edits: [expired], expected: renew('Expired') },
  { name: 'renewal is due exactly at renew-at', edits: [due], expected: renew('RenewalDue') },
  // Precedence
  {
    name: 'a conflict beats everything else',
    edits: [unmanaged, noExpiresAt, editedData, specChanged, issuerChanged, manual, expired],
    expected: conflict('SecretNotManaged'),
  },
  {
    name: 'not managed is reported before owned by another',
    edits: [otherOwner, unmanaged],
    expected: conflict('SecretNotManaged'),
  },
  {
    name: 'owned by another beats an expired token',
    edits: [otherOwner, expired],
    expected: conflict('SecretOwnedByOther'),
  },
  {
    name: 'a missing Secret beats a spec change and a manual request',
    edits: [missing, specChanged, manual],
    expected: renew('SecretMissing'),
  },
  {
    name: 'missing annotations beat edited data',
    edits: [noExpiresAt, editedData],
    expected: renew('SecretAnnotationsMissing'),
  },
  {
    name: 'edited data beats a spec change',
    edits: [editedData, specChanged],
    expected: renew('SecretDataMismatch'),
  },
  {
    name: 'a spec change beats an issuer change',
    edits: [specChanged, issuerChanged],
    expected: renew('SpecChanged'),
  },
  {
    name: 'an issuer change beats a manual request',
    edits: [issuerChanged, manual],
    expected: renew('IssuerChanged'),
  },
  { name: 'a manual request beats expiry', edits: [manual, expired], expected: renew('ManualRenewal') },
  { name: 'expiry beats a due renewal', edits: [expired], expected: renew('Expired') },
];

describe('the checks chain', () => {
  for (const c of cases) {
    test(c.name, () => {
      const input = healthy();
      for (const edit of c.edits) edit(input);
      const decision = decide(input);
      assert.deepEqual(decisionFields(decision, c.expected), c.expected, JSON.stringify(decision));
    });
  }
});

describe('each check', () => {
  test('no check hits for a fresh token', () => {
    for (const check of defaultChain) assert.equal(check(healthy()), undefined, check.name);
  });

  test('evaluate with an empty chain finds nothing', () => assert.equal(evaluate([], healthy()), undefined));

  test('messages name the Secret and never contain the token', () => {
    for (const edit of [unmanaged, otherOwner, noExpiresAt, editedData]) {
      const input = healthy();
      edit(input);
      const hit = evaluate(defaultChain, input);
      assert.ok(hit);
      assert.match(hit.message, /Secret orders-api/);
      assert.doesNotMatch(hit.message, /eyJhbGciOi/);
    }
  });
});
