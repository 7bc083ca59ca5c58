// The apiextensions.k8s.io/v1 CustomResourceDefinitions, assembled from the schemas in
// schema.ts. Written to crds/ by `npm run generate`; tests install those files.
import { category, group, Kind, Plural, version } from './constants.ts';
import { type Schema, schemas } from './schema.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'date' | 'integer' | 'number' | 'boolean';
  jsonPath: string;
  description: string;
  /** 1 shows the column only with `kubectl get -o wide`. */
  priority?: number;
}

/** A CustomResourceDefinition as the API server reads it (wire field names). */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    names: {
      kind: Kind;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: Schema };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
    }[];
  };
}

const readyColumns = (what: string): PrinterColumn[] => [
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: `Whether ${what}.`,
  },
  {
    name: 'Reason',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
    description: 'Reason of the Ready condition.',
    priority: 1,
  },
];

const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};

const issuerColumns: PrinterColumn[] = [
  ...readyColumns('the token endpoint is resolved and the credentials are present'),
  {
    name: 'Endpoint',
    type: 'string',
    jsonPath: '.status.tokenEndpoint',
    description: 'Token endpoint in use.',
    priority: 1,
  },
  ageColumn,
];

function crd(
  kind: Kind,
  singular: string,
  shortNames: string[],
  scope: 'Namespaced' | 'Cluster',
  columns: PrinterColumn[],
): CustomResourceDefinition {
  const plural = Plural[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      names: { kind, listKind: `${kind}List`, plural, singular, shortNames, categories: [category] },
      scope,
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schemas[kind] },
          subresources: { status: {} },
          additionalPrinterColumns: columns,
        },
      ],
    },
  };
}

export const tokenRequestCRD = crd(Kind.TokenRequest, 'tokenrequest', ['tokreq'], 'Namespaced', [
  ...readyColumns('a valid token is in the Secret'),
  {
    name: 'Secret',
    type: 'string',
    jsonPath: '.status.secretName',
    description: 'Secret holding the token.',
  },
  // Strings, not `date`: kubectl shows a date column as an age, and prints <invalid> for the
  // future, which is where expiry and renewal times are.
  {
    name: 'Expires',
    type: 'string',
    jsonPath: '.status.expirationTime',
    description: 'When the token expires.',
  },
  {
    name: 'Renews',
    type: 'string',
    jsonPath: '.status.renewalTime',
    description: 'When the token is renewed next.',
  },
  ageColumn,
]);

export const tokenIssuerCRD = crd(Kind.TokenIssuer, 'tokenissuer', ['tokiss'], 'Namespaced', issuerColumns);

export const clusterTokenIssuerCRD = crd(
  Kind.ClusterTokenIssuer,
  'clustertokenissuer',
  ['ctokiss'],
  'Cluster',
  issuerColumns,
);

export const crds: readonly CustomResourceDefinition[] = [
  tokenRequestCRD,
  tokenIssuerCRD,
  clusterTokenIssuerCRD,
];
