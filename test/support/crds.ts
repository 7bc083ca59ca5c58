// Installs the committed CRDs (crds/*.yaml, the files users apply) into a cluster and waits until
// the API server serves them.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  ApiException,
  ApiextensionsV1Api,
  dumpYaml,
  type KubeConfig,
  loadYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parse } from 'yaml';

const crdDir = resolve(import.meta.dirname, '../../crds');

export interface InstallCrdsOptions {
  /** How long each CRD may take to become Established. */
  timeoutMs?: number;
}

/** Creates or replaces every CRD in crds/ and waits until each one is Established. */
export async function installCrds(kc: KubeConfig, options: InstallCrdsOptions = {}): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const files = (await readdir(crdDir))
    .filter((entry) => entry.endsWith('.yaml') && entry !== 'kustomization.yaml')
    .sort();
  if (files.length === 0) throw new Error(`no CRD files in ${crdDir}: run npm run generate`);
  const names: string[] = [];
  for (const file of files) {
    const crd = await loadCrd(join(crdDir, file));
    const name = crd.metadata?.name;
    if (!name) throw new Error(`${file} has no metadata.name`);
    await createOrReplace(api, name, crd);
    names.push(name);
  }
  await Promise.all(names.map((name) => waitEstablished(api, name, options.timeoutMs ?? 30_000)));
}

async function loadCrd(path: string): Promise<V1CustomResourceDefinition> {
  const text = await readFile(path, 'utf8');
  // The typed API client re-serializes through its own models (camelCase fields such as
  // xKubernetesValidations); check that nothing of the file is lost on the way.
  const crd = loadYaml<V1CustomResourceDefinition>(text);
  if (!isDeepStrictEqual(parse(dumpYaml(crd)), parse(text))) {
    throw new Error(`${path} does not survive serialization by @kubernetes/client-node`);
  }
  return crd;
}

async function createOrReplace(api: ApiextensionsV1Api, name: string, crd: V1CustomResourceDefinition) {
  try {
    await api.createCustomResourceDefinition({ body: crd });
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 409)) throw error;
    const existing = await api.readCustomResourceDefinition({ name });
    const body = {
      ...crd,
      metadata: { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion },
    };
    await api.replaceCustomResourceDefinition({ name, body });
  }
}

async function waitEstablished(api: ApiextensionsV1Api, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let conditions = 'none';
  while (Date.now() < deadline) {
    const crd = await api.readCustomResourceDefinition({ name });
    const status = crd.status?.conditions ?? [];
    conditions = status.map((c) => `${c.type}=${c.status} (${c.reason}: ${c.message})`).join(', ') || 'none';
    if (status.some((c) => c.type === 'Established' && c.status === 'True')) return;
    // Conflicting names never resolve by waiting.
    if (status.some((c) => c.type === 'NamesAccepted' && c.status === 'False')) {
      throw new Error(`CRD ${name} names not accepted: ${conditions}`);
    }
    await sleep(100);
  }
  throw new Error(`CRD ${name} not Established after ${timeoutMs} ms; conditions: ${conditions}`);
}
