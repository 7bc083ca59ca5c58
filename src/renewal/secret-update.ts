// Whether the live Secret needs a write, and the object to write. Only what we own is
// compared and replaced: data entirely, our labels/annotations/ownerReference individually.
// Keys other tools add (and server-populated metadata) are left alone, so the operator never
// fights another controller over them. Consequence: a label or annotation removed from
// spec.secret stays on the Secret until the Secret is recreated.
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { apiVersion, Kind, Label } from '../api/constants.ts';
import type { OwnerReferenceLike, SecretLike } from './secret-state.ts';

type StringMap = Readonly<Record<string, string | undefined>>;

function includesAll(current: StringMap | undefined, wanted: StringMap | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([key, value]) => current?.[key] === value);
}

function sameMap(a: StringMap | undefined, b: StringMap | undefined): boolean {
  return includesAll(a, b) && includesAll(b, a);
}

/** A reference to a TokenRequest of this name: the one we add or remove per deletionPolicy. */
const isOurs =
  (tokenRequestName: string) =>
  (ref: OwnerReferenceLike): boolean =>
    ref.apiVersion === apiVersion && ref.kind === Kind.TokenRequest && ref.name === tokenRequestName;

const sameRef = (a: OwnerReferenceLike, b: OwnerReferenceLike): boolean =>
  a.apiVersion === b.apiVersion &&
  a.kind === b.kind &&
  a.name === b.name &&
  a.uid === b.uid &&
  (a.controller ?? false) === (b.controller ?? false) &&
  (a.blockOwnerDeletion ?? false) === (b.blockOwnerDeletion ?? false);

function ownerRefsDiffer(current: readonly OwnerReferenceLike[], desired: V1Secret, name: string): boolean {
  const ours = current.filter(isOurs(name));
  const wanted = desired.metadata?.ownerReferences ?? [];
  return ours.length !== wanted.length || !wanted.every((w) => ours.some((o) => sameRef(o, w)));
}

/** The TokenRequest name, from the label desiredSecret always sets. */
const tokenRequestOf = (desired: V1Secret): string => desired.metadata?.labels?.[Label.TokenRequest] ?? '';

/** True when writing `desired` would change the live Secret (or there is none). */
export function secretDiffers(current: SecretLike | undefined, desired: V1Secret): boolean {
  if (!current) return true;
  return (
    (current.type ?? 'Opaque') !== (desired.type ?? 'Opaque') ||
    !sameMap(current.data, desired.data) ||
    !includesAll(current.metadata?.labels, desired.metadata?.labels) ||
    !includesAll(current.metadata?.annotations, desired.metadata?.annotations) ||
    ownerRefsDiffer(current.metadata?.ownerReferences ?? [], desired, tokenRequestOf(desired))
  );
}

/**
 * The object for a replace (PUT) of the live Secret: its metadata (resourceVersion for
 * optimistic concurrency, other tools' labels, annotations, owners and finalizers) with ours
 * laid over it, and exactly the desired data. managedFields is dropped: sent back, it would
 * overwrite the server's field ownership records.
 */
export function secretForUpdate(current: V1Secret, desired: V1Secret): V1Secret {
  const { managedFields: _dropped, ...metadata } = current.metadata ?? {};
  const others = (metadata.ownerReferences ?? []).filter((ref) => !isOurs(tokenRequestOf(desired))(ref));
  const ownerReferences: V1OwnerReference[] = [...others, ...(desired.metadata?.ownerReferences ?? [])];
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      ...metadata,
      labels: { ...metadata.labels, ...desired.metadata?.labels },
      annotations: { ...metadata.annotations, ...desired.metadata?.annotations },
      ownerReferences: ownerReferences.length > 0 ? ownerReferences : undefined,
    },
    type: desired.type,
    data: desired.data,
  };
}
