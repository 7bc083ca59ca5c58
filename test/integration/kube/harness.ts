// Helpers for the informer tests: labelled Secrets and TokenRequests in a fresh namespace, an
// informer whose events and log entries are recorded, a kubeconfig through a proxy, condition waits.
import assert from 'node:assert/strict';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { group, Plural, version } from '../../../src/api/constants.ts';
import {
  dropManagedFields,
  Informer,
  type InformerLogEntry,
  type InformerOptions,
} from '../../../src/kube/informer.ts';
import { waitFor } from '../../support/net.ts';

export const selectorLabel = 'test.token-renewer.io/informer';

export function secrets(kc: KubeConfig, namespace: string, labelValue = 'yes') {
  const core = kc.makeApiClient(CoreV1Api);
  const labels = (on: boolean): Record<string, string> => (on ? { [selectorLabel]: labelValue } : {});
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return {
    create: (name: string, labelled = true) =>
      core.createNamespacedSecret({
        namespace,
        body: { metadata: { name, labels: labels(labelled) }, stringData: { value: 'v0' } },
      }),
    update: (name: string, value: string) =>
      core.patchNamespacedSecret({ namespace, name, body: { stringData: { value } } }, merge),
    setLabelled: (name: string, on: boolean) =>
      core.patchNamespacedSecret(
        { namespace, name, body: { metadata: { labels: { [selectorLabel]: on ? labelValue : null } } } },
        merge,
      ),
    remove: (name: string) => core.deleteNamespacedSecret({ namespace, name }),
  };
}

/** The same operations on TokenRequests, the operator's own custom resource (minimal spec). */
export function tokenRequests(kc: KubeConfig, namespace: string, labelValue = 'yes') {
  const api = kc.makeApiClient(CustomObjectsApi);
  const target = { group, version, namespace, plural: Plural.TokenRequest };
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return {
    create: (name: string) =>
      api.createNamespacedCustomObject({
        ...target,
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'TokenRequest',
          metadata: { name, labels: { [selectorLabel]: labelValue } },
          spec: { issuerRef: { name: 'test-issuer' } },
        },
      }),
    update: (name: string, value: string) =>
      api.patchNamespacedCustomObject(
        { ...target, name, body: { metadata: { annotations: { 'test.token-renewer.io/value': value } } } },
        merge,
      ),
    remove: (name: string) => api.deleteNamespacedCustomObject({ ...target, name }),
  };
}

export interface Recorded {
  informer: Informer;
  /** `add a`, `update a`, `delete a` (resyncs excluded), in arrival order. */
  events: string[];
  resyncs: string[];
  logs: InformerLogEntry[];
  errors: unknown[];
}

/** An informer on Secrets carrying the test label (value `labelValue`), recording everything. */
export function recordedInformer(
  kc: KubeConfig,
  options: Partial<InformerOptions<KubernetesObject>> & { labelValue?: string } = {},
): Recorded {
  const events: string[] = [];
  const resyncs: string[] = [];
  const logs: InformerLogEntry[] = [];
  const errors: unknown[] = [];
  const informer = new Informer({
    kubeConfig: kc,
    resource: { apiVersion: 'v1', plural: 'secrets' },
    labelSelector: `${selectorLabel}=${options.labelValue ?? 'yes'}`,
    transform: dropManagedFields,
    onError: (err) => errors.push(err),
    log: (entry) => logs.push(entry),
    ...options,
  });
  informer.onEvent((event) => {
    const name = event.object.metadata?.name ?? '?';
    if (event.type === 'update' && event.resync) resyncs.push(name);
    else events.push(`${event.type} ${name}`);
  });
  return { informer, events, resyncs, logs, errors };
}

/** Polls a condition every 50 ms until it holds; fails after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  await waitFor(what, async () => condition(), timeoutMs);
}

/** Waits until `events` has as many entries as `expected`, then asserts they are exactly those. */
export async function untilEvents(events: string[], expected: string[], timeoutMs = 20_000): Promise<void> {
  await until(`events ${expected.join(', ')}`, () => events.length >= expected.length, timeoutMs).catch(
    () => {},
  );
  assert.deepEqual(events, expected);
}

/** The same cluster and user as `kc`, reached through `server` (e.g. a proxy). */
export function kubeConfigVia(kc: KubeConfig, server: string): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: kc.clusters.map((cluster) => ({ ...cluster, server })),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return copy;
}
