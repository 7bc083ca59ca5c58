// Which issuer a TokenRequest may use: a TokenIssuer in its own namespace, or a
// ClusterTokenIssuer that allows its namespace by name or by label selector. Pure.
import {
  type ClusterTokenIssuer,
  Kind,
  type TokenIssuer,
  type TokenRequest,
  TokenRequestReason,
} from '../api/index.ts';
import { matchesLabelSelector } from '../kube/label-selector.ts';
import type { IssuerObject } from './issuer-settings.ts';

export interface IssuerLookup {
  tokenIssuer(namespace: string, name: string): TokenIssuer | undefined;
  clusterTokenIssuer(name: string): ClusterTokenIssuer | undefined;
  /** Labels of a namespace, undefined when it is unknown. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
}

export type IssuerAccess =
  | { ok: true; issuer: IssuerObject; key: string }
  | {
      ok: false;
      key: string;
      reason: typeof TokenRequestReason.IssuerNotFound | typeof TokenRequestReason.NamespaceNotAllowed;
      message: string;
    };

/** Cache/queue key of an issuer: `TokenIssuer/<ns>/<name>` or `ClusterTokenIssuer/<name>`. */
export function issuerKey(kind: string, namespace: string | undefined, name: string): string {
  return kind === Kind.ClusterTokenIssuer ? `${kind}/${name}` : `${kind}/${namespace ?? ''}/${name}`;
}

export function issuerKeyOf(tr: TokenRequest): string {
  const kind = tr.spec.issuerRef.kind ?? Kind.TokenIssuer;
  return issuerKey(kind, tr.metadata.namespace, tr.spec.issuerRef.name);
}

export function resolveIssuer(tr: TokenRequest, lookup: IssuerLookup): IssuerAccess {
  const namespace = tr.metadata.namespace ?? '';
  const { name } = tr.spec.issuerRef;
  const key = issuerKeyOf(tr);
  if ((tr.spec.issuerRef.kind ?? Kind.TokenIssuer) === Kind.TokenIssuer) {
    const issuer = lookup.tokenIssuer(namespace, name);
    return issuer
      ? { ok: true, issuer, key }
      : {
          ok: false,
          key,
          reason: TokenRequestReason.IssuerNotFound,
          message: `TokenIssuer ${name} not found in namespace ${namespace}`,
        };
  }
  const issuer = lookup.clusterTokenIssuer(name);
  if (!issuer) {
    return {
      ok: false,
      key,
      reason: TokenRequestReason.IssuerNotFound,
      message: `ClusterTokenIssuer ${name} not found`,
    };
  }
  if (!namespaceAllowed(issuer, namespace, lookup.namespaceLabels(namespace))) {
    return {
      ok: false,
      key,
      reason: TokenRequestReason.NamespaceNotAllowed,
      message: `ClusterTokenIssuer ${name} does not allow namespace ${namespace} (see its spec.allowedNamespaces)`,
    };
  }
  return { ok: true, issuer, key };
}

export function namespaceAllowed(
  issuer: ClusterTokenIssuer,
  namespace: string,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const { names = [], selector } = issuer.spec.allowedNamespaces;
  if (names.includes(namespace)) return true;
  return selector !== undefined && labels !== undefined && matchesLabelSelector(labels, selector);
}
