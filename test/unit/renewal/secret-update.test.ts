import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import { secretDiffers, secretForUpdate } from '../../../src/renewal/secret-update.ts';
import { writtenSecret } from './fixtures.ts';

/** The Secret as the API server returns it after we created it. */
function live(desired: V1Secret = writtenSecret()): V1Secret {
  const copy = structuredClone(desired);
  copy.metadata = {
    ...copy.metadata,
    uid: 'uid-secret',
    resourceVersion: '42',
    creationTimestamp: new Date('2026-12-04T15:00:01Z'),
    managedFields: [{ manager: 'token-renewer', operation: 'Update' }],
  };
  return copy;
}

describe('secretDiffers', () => {
  const cases: { name: string; current: V1Secret | undefined; desired?: V1Secret; differs: boolean }[] = [
    { name: 'no Secret needs a write', current: undefined, differs: true },
    { name: 'server-populated fields are ignored', current: live(), differs: false },
    {
      name: 'labels and annotations added by other tools are ignored',
      current: (() => {
        const s = live();
        s.metadata = {
          ...s.metadata,
          labels: { ...s.metadata?.labels, extra: '1' },
          annotations: { ...s.metadata?.annotations, 'argocd.argoproj.io/x': 'y' },
        };
        return s;
      })(),
      differs: false,
    },
    {
      name: 'another owner reference is ignored',
      current: (() => {
        const s = live();
        s.metadata?.ownerReferences?.push({ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u' });
        return s;
      })(),
      differs: false,
    },
    {
      name: 'changed data needs a write',
      current: (() => {
        const s = live();
        if (s.data) s.data.token = 'eA==';
        return s;
      })(),
      differs: true,
    },
    {
      name: 'an extra data key needs a write',
      current: (() => {
        const s = live();
        if (s.data) s.data.extra = 'eA==';
        return s;
      })(),
      differs: true,
    },
    {
      name: 'a new user label in the spec needs a write',
      current: live(),
      desired: writtenSecret({ secret: { labels: { team: 'a' } } }),
      differs: true,
    },
    {
      name: 'a new template key needs a write',
      current: live(),
      desired: writtenSecret({ secret: { template: { t: '{{token}}' } } }),
      differs: true,
    },
    {
      name: 'a newly handled renewal request needs a write',
      current: live(),
      desired: writtenSecret({ renewRequestedAt: 'x' }),
      differs: true,
    },
    {
      name: 'switching to Retain removes our owner reference',
      current: live(),
      desired: writtenSecret({ secret: { deletionPolicy: 'Retain' } }),
      differs: true,
    },
    {
      name: 'switching to Delete adds our owner reference',
      current: live(writtenSecret({ secret: { deletionPolicy: 'Retain' } })),
      differs: true,
    },
    {
      name: 'an owner reference to an earlier TokenRequest of the same name is replaced',
      current: (() => {
        const s = live();
        const [ref] = s.metadata?.ownerReferences ?? [];
        if (ref) ref.uid = 'uid-old';
        return s;
      })(),
      differs: true,
    },
    {
      name: 'a Secret of another type needs a write',
      current: { ...live(), type: 'kubernetes.io/tls' },
      differs: true,
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(secretDiffers(c.current, c.desired ?? writtenSecret()), c.differs));
  }
});

describe('secretForUpdate', () => {
  test('keeps resourceVersion and foreign metadata, drops managedFields and replaces what we own', () => {
    const current = live(writtenSecret({ secret: { labels: { team: 'a' } } }));
    current.metadata = {
      ...current.metadata,
      labels: { ...current.metadata?.labels, extra: '1' },
      finalizers: ['example.com/keep'],
      ownerReferences: [
        ...(current.metadata?.ownerReferences ?? []).map((ref) => ({ ...ref, uid: 'uid-old' })),
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u' },
      ],
    };
    if (current.data) current.data.extra = 'eA==';
    const desired = writtenSecret({ secret: { labels: { team: 'b' } } });
    const update = secretForUpdate(current, desired);

    assert.equal(update.metadata?.resourceVersion, '42');
    assert.equal(update.metadata?.managedFields, undefined);
    assert.deepEqual(update.metadata?.finalizers, ['example.com/keep']);
    assert.equal(update.metadata?.labels?.team, 'b');
    assert.equal(update.metadata?.labels?.extra, '1');
    assert.deepEqual(update.data, desired.data);
    assert.deepEqual(
      update.metadata?.ownerReferences?.map((ref) => ref.uid),
      ['u', 'uid-orders'],
    );
    assert.equal(secretDiffers(update, desired), false);
  });

  test('switching to Retain removes our owner reference and leaves none', () => {
    const update = secretForUpdate(live(), writtenSecret({ secret: { deletionPolicy: 'Retain' } }));
    assert.equal(update.metadata?.ownerReferences, undefined);
  });
});
