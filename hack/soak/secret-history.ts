// Every version of the managed Secrets in a namespace, as a real watch delivers them, with the
// time each one arrived: what a kubelet (which watches Secrets too) would learn, and when. The
// watch reconnects from the last resourceVersion when it ends, and relists when that version is
// gone (410): versions found by a relist count as arriving at the relist (as late as a kubelet
// would see them). Only a fingerprint of each token is kept, with its JWT times.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig, type V1Secret, Watch } from '@kubernetes/client-node';
import { decodeJwt } from 'jose';
import { Annotation } from '../../src/api/index.ts';

/** A token arriving with less than this left is a bad write (the operator rejects such tokens). */
export const MIN_REMAINING_ON_ARRIVAL_MS = 5_000;

export interface TokenVersion {
  name: string;
  /** When the watch (or a relist) delivered it, ms. */
  arrival: number;
  resourceVersion: string;
  via: 'watch' | 'relist';
  /** sha256 prefix of the token; undefined when the Secret was deleted or holds no token. */
  fingerprint?: string;
  /** JWT `exp` and `iat`, ms. */
  expMs?: number;
  iatMs?: number;
  /** The operator's `renew-at` and `expires-at` annotations, ms. */
  renewAtMs?: number;
  expiresAtMs?: number;
  /** Why this version should never have been written (empty, not a JWT, expired on arrival…). */
  problem?: string;
}

export interface SecretHistory {
  names(): string[];
  versions(name: string): readonly TokenVersion[];
  /** Secret updates that kept the same token (labels, annotations, status-like rewrites). */
  sameTokenUpdates(): number;
  /** Watch connections made after the first, and relists after a 410. */
  reconnects(): number;
  relists(): number;
  /** Watch events received (bookmarks included). */
  events(): number;
  stop(): Promise<void>;
}

export async function recordSecrets(
  kc: KubeConfig,
  namespace: string,
  labelSelector: string,
): Promise<SecretHistory> {
  const core = kc.makeApiClient(CoreV1Api);
  const byName = new Map<string, TokenVersion[]>();
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  let resourceVersion = '';
  let needList = true;
  let stopped = false;
  let current: AbortController | undefined;
  const counters = { sameToken: 0, reconnects: -1, relists: -1, events: 0 };

  const record = (secret: V1Secret, via: TokenVersion['via'], deleted = false) => {
    const name = secret.metadata?.name ?? '';
    const at = Date.now();
    const versions = byName.get(name) ?? [];
    byName.set(name, versions);
    const version = describe(name, deleted ? undefined : secret, at, via);
    const last = versions.at(-1);
    if (last && last.fingerprint === version.fingerprint) {
      counters.sameToken += 1;
      return;
    }
    if (!last && version.fingerprint === undefined) return;
    versions.push(version);
  };

  const list = async () => {
    const listed = await core.listNamespacedSecret({ namespace, labelSelector });
    counters.relists += 1;
    const present = new Set<string>();
    for (const secret of listed.items) {
      present.add(secret.metadata?.name ?? '');
      record(secret, 'relist');
    }
    for (const [name, versions] of byName) {
      if (!present.has(name) && versions.at(-1)?.fingerprint !== undefined) {
        record({ metadata: { name } }, 'relist', true);
      }
    }
    resourceVersion = listed.metadata?.resourceVersion ?? '';
    needList = false;
  };

  const watchOnce = () =>
    new Promise<void>((resolve) => {
      counters.reconnects += 1;
      const onEvent = (type: string, object: unknown) => {
        counters.events += 1;
        const secret = object as V1Secret;
        if (type === 'ERROR') {
          if ((object as { code?: number }).code === 410) needList = true;
          current?.abort();
          return;
        }
        const rv = secret.metadata?.resourceVersion;
        if (rv) resourceVersion = rv;
        if (type === 'ADDED' || type === 'MODIFIED') record(secret, 'watch');
        else if (type === 'DELETED') record(secret, 'watch', true);
      };
      new Watch(kc)
        .watch(
          path,
          { labelSelector, resourceVersion, allowWatchBookmarks: true },
          onEvent,
          (err: unknown) => {
            if ((err as { statusCode?: number } | null)?.statusCode === 410) needList = true;
            resolve();
          },
        )
        .then(
          (controller) => {
            current = controller;
            if (stopped) controller.abort();
          },
          () => resolve(),
        );
    });

  await list();
  const loop = (async () => {
    while (!stopped) {
      try {
        if (needList) await list();
        await watchOnce();
      } catch {
        // The API server is unreachable for a moment: try again shortly.
      }
      if (!stopped) await sleep(200);
    }
  })();

  return {
    names: () => [...byName.keys()].sort(),
    versions: (name) => byName.get(name) ?? [],
    sameTokenUpdates: () => counters.sameToken,
    reconnects: () => Math.max(0, counters.reconnects),
    relists: () => Math.max(0, counters.relists),
    events: () => counters.events,
    async stop() {
      stopped = true;
      current?.abort();
      await loop;
    },
  };
}

function describe(name: string, secret: V1Secret | undefined, at: number, via: TokenVersion['via']) {
  const rv = secret?.metadata?.resourceVersion ?? '';
  const base: TokenVersion = { name, arrival: at, resourceVersion: rv, via };
  if (!secret) return { ...base, problem: 'Secret deleted' };
  const encoded = secret.data?.token;
  if (encoded === undefined) return { ...base, problem: 'no token key' };
  const token = Buffer.from(encoded, 'base64').toString('utf8');
  if (token === '') return { ...base, problem: 'empty token' };
  const fingerprint = createHash('sha256').update(token).digest('hex').slice(0, 12);
  const annotations = secret.metadata?.annotations ?? {};
  const time = (value: string | undefined) => {
    const ms = value === undefined ? Number.NaN : Date.parse(value);
    return Number.isFinite(ms) ? ms : undefined;
  };
  const version: TokenVersion = {
    ...base,
    fingerprint,
    renewAtMs: time(annotations[Annotation.RenewAt]),
    expiresAtMs: time(annotations[Annotation.ExpiresAt]),
  };
  let claims: { exp?: number; iat?: number };
  try {
    claims = decodeJwt(token);
  } catch {
    return { ...version, problem: 'not a JWT' };
  }
  if (typeof claims.exp !== 'number') return { ...version, problem: 'JWT without exp' };
  version.expMs = claims.exp * 1000;
  if (typeof claims.iat === 'number') version.iatMs = claims.iat * 1000;
  if (version.expMs - at < MIN_REMAINING_ON_ARRIVAL_MS) {
    version.problem = `arrived with ${((version.expMs - at) / 1000).toFixed(1)} s left`;
  }
  return version;
}
