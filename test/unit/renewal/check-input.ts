// CheckInput builders for the checks and decide tests: a healthy input and small edits,
// each breaking one thing, that a case composes.
import type { V1Secret } from '@kubernetes/client-node';
import type { CheckInput, CheckReason } from '../../../src/renewal/checks.ts';
import type { Decision } from '../../../src/renewal/decide.ts';
import { at, HOUR, ISSUER_HASH, MINUTE, SPEC_HASH, writtenSecret } from './fixtures.ts';

// A healthy TokenRequest ten minutes after issue: the Secret holds a token that expires at
// T0+1h and is renewed at T0+40m.
export function healthy(): CheckInput {
  return {
    now: at(10 * MINUTE),
    tokenRequest: { name: 'orders-api', generation: 3 },
    specHash: SPEC_HASH,
    issuerHash: ISSUER_HASH,
    secret: writtenSecret(),
  };
}

export type Edit = (input: CheckInput) => void;

export const labels = (input: CheckInput): Record<string, string> => {
  const secret = input.secret as V1Secret;
  secret.metadata = { ...secret.metadata, labels: { ...secret.metadata?.labels } };
  return secret.metadata.labels as Record<string, string>;
};
export const annotations = (input: CheckInput): Record<string, string> => {
  const secret = input.secret as V1Secret;
  secret.metadata = { ...secret.metadata, annotations: { ...secret.metadata?.annotations } };
  return secret.metadata.annotations as Record<string, string>;
};
export const data = (input: CheckInput): Record<string, string> => {
  const secret = input.secret as V1Secret;
  secret.data = { ...secret.data };
  return secret.data;
};

export const unmanaged: Edit = (i) => delete labels(i)['app.kubernetes.io/managed-by'];
export const otherOwner: Edit = (i) => {
  labels(i)['token-renewer.io/token-request'] = 'billing-api';
};
export const missing: Edit = (i) => {
  i.secret = undefined;
};
export const noExpiresAt: Edit = (i) => delete annotations(i)['token-renewer.io/expires-at'];
export const editedData: Edit = (i) => {
  data(i).token = Buffer.from('pasted-by-hand').toString('base64');
};
export const specChanged: Edit = (i) => {
  i.specHash = 'v1:new-spec';
};
export const issuerChanged: Edit = (i) => {
  i.issuerHash = 'v1:new-issuer';
};
export const manual: Edit = (i) => {
  i.tokenRequest.renewRequestedAt = '2026-12-04T15:05:00Z';
};
export const expired: Edit = (i) => {
  i.now = at(HOUR);
};
export const due: Edit = (i) => {
  i.now = at(40 * MINUTE);
};
// Two failures so far; the last at T0+40m, the next retry at T0+42m.
export const failing: Edit = (i) => {
  i.failure = {
    failedAttempts: 2,
    lastFailureTime: at(40 * MINUTE),
    nextRetryAt: at(42 * MINUTE),
    observedGeneration: 3,
  };
};
export const now =
  (ms: number): Edit =>
  (i) => {
    i.now = at(ms);
  };
export const label =
  (key: string, value: string): Edit =>
  (i) => {
    labels(i)[key] = value;
  };
export const annotation =
  (key: string, value: string): Edit =>
  (i) => {
    annotations(i)[key] = value;
  };
export const dataKey =
  (key: string, value: string): Edit =>
  (i) => {
    data(i)[key] = value;
  };
export const requested =
  (value: string): Edit =>
  (i) => {
    i.tokenRequest.renewRequestedAt = value;
  };
export const generation =
  (value: number): Edit =>
  (i) => {
    i.tokenRequest.generation = value;
  };
export const handled =
  (value: string): Edit =>
  (i) => {
    i.secret = writtenSecret({ renewRequestedAt: value });
  };
export const nextRetry =
  (ms: number | undefined): Edit =>
  (i) => {
    if (i.failure) i.failure.nextRetryAt = ms === undefined ? undefined : at(ms);
  };

export const renew = (reason: CheckReason): Partial<Decision> => ({ action: 'renew', reason });
export const conflict = (reason: CheckReason): Partial<Decision> => ({ action: 'conflict', reason });
export const backoff = (reason: CheckReason, until: Date): Partial<Decision> => ({
  action: 'backoff',
  reason,
  until,
});
export const wait = (until: Date): Decision => ({ action: 'wait', until });

/** One table row: edits applied to healthy() in order, and the fields of the Decision to expect. */
export interface Case {
  name: string;
  edits: Edit[];
  expected: Partial<Decision>;
}

/** Runs a case through `decide` and compares only the expected fields. */
export function decisionFields(decision: Decision, expected: Partial<Decision>): Partial<Decision> {
  return Object.fromEntries(Object.keys(expected).map((key) => [key, decision[key as keyof Decision]]));
}
