// From a TokenIssuer or ClusterTokenIssuer and the Secrets it references to what the OAuth
// client needs, or to a problem a person can fix. Pure: Secrets come in through a lookup.
import type { V1Secret } from '@kubernetes/client-node';
import { type ClusterTokenIssuer, IssuerReason, Kind, type TokenIssuer } from '../api/index.ts';
import { DEFAULT_OUTBOUND_POLICY, type IssuerDescription, type OutboundPolicy } from '../oauth/index.ts';
import { parseDuration } from '../renewal/index.ts';

export type IssuerObject = TokenIssuer | ClusterTokenIssuer;

export interface SecretRefKey {
  namespace: string;
  name: string;
}

export type IssuerSettings =
  | {
      ok: true;
      description: IssuerDescription;
      /** `<uid>/<resourceVersion>` of each referenced Secret: part of the issuer hash, never values. */
      credentialVersions: string[];
      defaultLifetimeMs: number;
    }
  | { ok: false; reason: IssuerReason; message: string };

/** Namespace of the Secrets an issuer references. */
export function credentialsNamespace(issuer: IssuerObject, clusterResourceNamespace: string): string {
  return issuer.kind === Kind.ClusterTokenIssuer
    ? clusterResourceNamespace
    : (issuer.metadata.namespace ?? '');
}

/** Every Secret the issuer references, so the controller can watch exactly those. */
export function referencedSecrets(issuer: IssuerObject, clusterResourceNamespace: string): SecretRefKey[] {
  const namespace = credentialsNamespace(issuer, clusterResourceNamespace);
  const { clientAuth = {}, caSecretRef } = issuer.spec;
  const names = [
    clientAuth.clientSecretRef?.name,
    clientAuth.privateKeyRef?.name,
    clientAuth.clientCertificateRef?.name,
    caSecretRef?.name,
  ].filter((name): name is string => name !== undefined);
  return [...new Set(names)].map((name) => ({ namespace, name }));
}

export function issuerSettings(
  issuer: IssuerObject,
  options: {
    clusterResourceNamespace: string;
    /** The operator's outbound policy; the production default when not given. */
    outbound?: OutboundPolicy;
    secret: (ref: SecretRefKey) => V1Secret | undefined;
  },
): IssuerSettings {
  const namespace = credentialsNamespace(issuer, options.clusterResourceNamespace);
  const { spec } = issuer;
  const clientAuth = spec.clientAuth ?? {};
  const method = clientAuth.method ?? 'client_secret_basic';
  const versions = new Set<string>();
  const problems: string[] = [];

  // Reads one key of a referenced Secret; records a readable problem when it is missing.
  const read = (name: string, key: string, purpose: string): string | undefined => {
    const secret = options.secret({ namespace, name });
    if (!secret) {
      problems.push(`Secret ${namespace}/${name} (${purpose}) not found`);
      return undefined;
    }
    versions.add(`${secret.metadata?.uid ?? ''}/${secret.metadata?.resourceVersion ?? ''}`);
    const value = secret.data?.[key];
    if (value === undefined || value === '') {
      problems.push(`Secret ${namespace}/${name} has no key ${JSON.stringify(key)} (${purpose})`);
      return undefined;
    }
    return Buffer.from(value, 'base64').toString('utf8');
  };

  let auth: IssuerDescription['auth'] | undefined;
  switch (method) {
    case 'client_secret_basic':
    case 'client_secret_post': {
      const ref = clientAuth.clientSecretRef;
      const clientSecret = ref && read(ref.name, ref.key ?? 'client-secret', 'client secret');
      if (clientSecret !== undefined) auth = { method, clientSecret };
      break;
    }
    case 'private_key_jwt': {
      const ref = clientAuth.privateKeyRef;
      const privateKeyPem = ref && read(ref.name, ref.key ?? 'tls.key', 'private key');
      if (ref && privateKeyPem !== undefined) auth = { method, privateKeyPem, alg: ref.alg, kid: ref.kid };
      break;
    }
    case 'tls_client_auth': {
      const ref = clientAuth.clientCertificateRef;
      const certPem = ref && read(ref.name, 'tls.crt', 'client certificate');
      const keyPem = ref && read(ref.name, 'tls.key', 'client certificate key');
      if (certPem !== undefined && keyPem !== undefined) auth = { method, certPem, keyPem };
      break;
    }
    case 'none':
      auth = { method };
      break;
  }
  const caBundlePem = spec.caSecretRef
    ? read(spec.caSecretRef.name, spec.caSecretRef.key ?? 'ca.crt', 'CA bundle')
    : spec.caBundle;

  if (problems.length > 0 || auth === undefined) {
    return {
      ok: false,
      reason: IssuerReason.CredentialsNotFound,
      message:
        problems.length > 0 ? problems.join('; ') : `clientAuth.method ${method} needs its Secret reference`,
    };
  }
  return {
    ok: true,
    description: {
      issuerURL: spec.issuerURL,
      tokenEndpoint: spec.tokenEndpoint,
      clientID: spec.clientID,
      auth,
      caBundlePem,
      timeoutMs: parseDuration(spec.timeout ?? '10s'),
      outbound: options.outbound ?? DEFAULT_OUTBOUND_POLICY,
    },
    credentialVersions: [...versions].sort(),
    defaultLifetimeMs: parseDuration(spec.defaultTokenLifetime ?? '5m'),
  };
}
