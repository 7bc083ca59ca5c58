// The OpenAPI v3 schemas of the three kinds: the single source of truth for the CRDs in crds/
// and the TypeScript types in src/api/generated/ (both written by `npm run generate`).
// Objects are built by small helpers so a shape (a duration, a Secret reference, conditions)
// is defined once and its validation reads the same everywhere.
import {
  annotationPrefix,
  ClientAuthMethod,
  ConditionStatus,
  DeletionPolicy,
  IssuerKind,
  type Kind,
  Label,
  privateKeyJWTAlgorithms,
  reservedSecretDataKeys,
} from './constants.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A CEL rule (`x-kubernetes-validations`); always with a message, the default one is opaque. */
export interface ValidationRule {
  rule: string;
  message: string;
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps we use, with its wire field names. */
export interface Schema {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  format?: 'date-time' | 'int32' | 'int64';
  enum?: readonly string[];
  default?: JsonValue;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  properties?: Record<string, Schema>;
  required?: readonly string[];
  additionalProperties?: Schema;
  items?: Schema;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: readonly string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: readonly ValidationRule[];
}

type Options = Omit<Schema, 'description' | 'type' | 'properties' | 'items' | 'additionalProperties'>;

// TypeScript interface names for schemas that deserve one; kept out of the CRD YAML (no
// `title` there) and applied by the type generator.
const typeNames = new WeakMap<Schema, string>();

/** Gives `schema` a name in the generated TypeScript types. */
function named(name: string, schema: Schema): Schema {
  typeNames.set(schema, name);
  return schema;
}

export function typeNameOf(schema: Schema): string | undefined {
  return typeNames.get(schema);
}

const rule = (rule: string, message: string): ValidationRule => ({ rule, message });

const string = (description: string, options: Options = {}): Schema => ({
  description,
  type: 'string',
  ...options,
});

const integer = (description: string, options: Options = {}): Schema => ({
  description,
  type: 'integer',
  format: 'int32',
  ...options,
});

const int64 = (description: string, options: Options = {}): Schema => ({
  description,
  type: 'integer',
  format: 'int64',
  ...options,
});

const dateTime = (description: string, options: Options = {}): Schema =>
  string(description, { format: 'date-time', ...options });

const object = (description: string, properties: Record<string, Schema>, options: Options = {}): Schema => ({
  description,
  type: 'object',
  properties,
  ...options,
});

const array = (description: string, items: Schema, options: Options = {}): Schema => ({
  description,
  type: 'array',
  items,
  ...options,
});

const stringMap = (description: string, values: Schema, options: Options = {}): Schema => ({
  description,
  type: 'object',
  additionalProperties: values,
  ...options,
});

// --- reusable shapes -----------------------------------------------------------------------

// `[.]` rather than `\.`: the rule is a CEL string inside YAML, and a bracket needs no escaping.
const durationRegex = '^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$';

/** A Go duration string (`90s`, `10m`, `1h30m`), strictly positive and at most `max`. */
function duration(description: string, defaultValue?: string, max?: string): Schema {
  // Guarded so that a malformed value reports only the first message, not a parse error.
  const parsed = (check: string) => `!self.matches('${durationRegex}') || ${check}`;
  return string(description, {
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    maxLength: 32,
    'x-kubernetes-validations': [
      rule(`self.matches('${durationRegex}')`, 'must be a duration such as 90s, 10m or 1h30m'),
      rule(parsed(`duration(self) > duration('0s')`), 'must be longer than 0s'),
      ...(max === undefined
        ? []
        : [rule(parsed(`duration(self) <= duration('${max}')`), `must be at most ${max}`)]),
    ],
  });
}

const dnsSubdomainRegex = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** The name of a namespaced object such as a Secret (an RFC 1123 DNS subdomain). */
const objectName = (description: string): Schema =>
  string(description, {
    minLength: 1,
    maxLength: 253,
    'x-kubernetes-validations': [
      rule(
        `self.matches('${dnsSubdomainRegex}')`,
        "must be a valid object name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
      ),
    ],
  });

const secretDataKeyRegex = '^[-._a-zA-Z0-9]+$';
const secretDataKeyMessage = "must be a valid Secret data key: letters, digits, '-', '_' and '.'";

const secretName = (): Schema =>
  objectName(
    "Name of the Secret, in the TokenIssuer's namespace or, for a ClusterTokenIssuer, in the operator's cluster-resource namespace.",
  );

/** A key of a Secret in the issuer's credential namespace, with a conventional default key. */
function secretKeyRef(
  typeName: string,
  description: string,
  defaultKey: string,
  extra: Record<string, Schema> = {},
): Schema {
  return named(
    typeName,
    object(
      description,
      {
        name: secretName(),
        key: string('Key in the Secret holding the value.', {
          default: defaultKey,
          minLength: 1,
          maxLength: 253,
          'x-kubernetes-validations': [rule(`self.matches('${secretDataKeyRegex}')`, secretDataKeyMessage)],
        }),
        ...extra,
      },
      { required: ['name'] },
    ),
  );
}

const condition = named(
  'Condition',
  object(
    'One aspect of the current state of the object (metav1.Condition).',
    {
      type: string('Type of the condition, e.g. Ready.', {
        maxLength: 316,
        pattern:
          '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
      }),
      status: string('Status of the condition: True, False or Unknown.', {
        enum: Object.values(ConditionStatus),
      }),
      observedGeneration: int64('The .metadata.generation the condition was set from.', { minimum: 0 }),
      lastTransitionTime: dateTime('When the condition last changed from one status to another.'),
      reason: string("Machine-readable CamelCase reason for the condition's last transition.", {
        minLength: 1,
        maxLength: 1024,
        pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
      }),
      message: string('Human-readable details about the last transition.', { maxLength: 32768 }),
    },
    { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
  ),
);

const conditions = (description: string): Schema =>
  array(description, condition, {
    maxItems: 8,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });

const observedGeneration = () =>
  int64('The .metadata.generation of the spec this status describes.', { minimum: 0 });

/** An http(s) URL; https is enforced by the operator's runtime policy, not by the schema. */
const httpURL = (description: string): Schema =>
  string(description, {
    minLength: 1,
    maxLength: 2048,
    'x-kubernetes-validations': [
      rule("isURL(self) && url(self).getScheme() in ['https', 'http']", 'must be an http or https URL'),
    ],
  });

const labelSelectorRequirement = named(
  'LabelSelectorRequirement',
  object(
    'A label key, an operator and values (metav1.LabelSelectorRequirement).',
    {
      key: string('Label key the requirement applies to.', { minLength: 1, maxLength: 317 }),
      operator: string('How the label value relates to values: In, NotIn, Exists or DoesNotExist.', {
        enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
      }),
      values: array(
        'Label values; non-empty for In and NotIn, empty for Exists and DoesNotExist.',
        string('A label value.', { maxLength: 63 }),
        { maxItems: 64, 'x-kubernetes-list-type': 'atomic' },
      ),
    },
    {
      required: ['key', 'operator'],
      'x-kubernetes-validations': [
        rule(
          "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
          'values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist',
        ),
      ],
    },
  ),
);

const labelSelector = named(
  'LabelSelector',
  object(
    'Selects namespaces by their labels (metav1.LabelSelector); the requirements are ANDed and an empty selector matches every namespace.',
    {
      matchLabels: stringMap(
        'Labels a namespace must have, with these exact values.',
        string('A label value.'),
        {
          maxProperties: 64,
        },
      ),
      matchExpressions: array('Further requirements on the namespace labels.', labelSelectorRequirement, {
        maxItems: 32,
        'x-kubernetes-list-type': 'atomic',
      }),
    },
    { 'x-kubernetes-map-type': 'atomic' },
  ),
);

// --- TokenRequest --------------------------------------------------------------------------

const issuerRef = named(
  'IssuerRef',
  object(
    'The issuer that issues the token.',
    {
      kind: string('Kind of the issuer: TokenIssuer (in the same namespace) or ClusterTokenIssuer.', {
        enum: Object.values(IssuerKind),
        default: IssuerKind.TokenIssuer,
      }),
      name: string('Name of the issuer.', { minLength: 1, maxLength: 253 }),
    },
    { required: ['name'] },
  ),
);

const reservedKeysCEL = `[${reservedSecretDataKeys.map((key) => `'${key}'`).join(', ')}]`;
const reservedKeysText = `${reservedSecretDataKeys.slice(0, -1).join(', ')} or ${reservedSecretDataKeys.at(-1)}`;

const tokenRequestSecret = named(
  'TokenRequestSecret',
  object(
    'The Secret the operator writes the token into, in the namespace of the TokenRequest.',
    {
      name: objectName("Name of the Secret; defaults to the TokenRequest's name."),
      labels: stringMap(
        'Labels added to the Secret, besides the ones the operator sets itself.',
        string('A label value.', { maxLength: 63 }),
        {
          maxProperties: 64,
          'x-kubernetes-validations': [
            rule(
              `!('${Label.ManagedBy}' in self) && !('${Label.TokenRequest}' in self)`,
              `labels must not set ${Label.ManagedBy} or ${Label.TokenRequest}: the operator sets them`,
            ),
          ],
        },
      ),
      annotations: stringMap(
        'Annotations added to the Secret, besides the ones the operator sets itself.',
        string('An annotation value.', { maxLength: 65536 }),
        {
          maxProperties: 64,
          'x-kubernetes-validations': [
            rule(
              `self.all(key, !key.startsWith('${annotationPrefix}'))`,
              `annotations must not use the ${annotationPrefix} prefix: it is reserved for the operator`,
            ),
          ],
        },
      ),
      template: stringMap(
        'Extra keys written into the Secret next to token, token_type, expires_at and scope; each value is a template whose placeholders (e.g. {{ token }}) are filled in from the token response.',
        string('Template of the key value.', { maxLength: 65536 }),
        {
          maxProperties: 32,
          'x-kubernetes-validations': [
            rule(
              `self.all(key, key.size() <= 253 && key.matches('${secretDataKeyRegex}') && key != '.' && key != '..')`,
              "template keys must be valid Secret data keys: letters, digits, '-', '_' and '.'",
            ),
            rule(
              `self.all(key, !(key in ${reservedKeysCEL}))`,
              `template keys must not be ${reservedKeysText}: the operator writes those`,
            ),
          ],
        },
      ),
      deletionPolicy: string(
        'What happens to the Secret when the TokenRequest is deleted: Delete (the Secret is owned by the TokenRequest and deleted with it) or Retain.',
        { enum: Object.values(DeletionPolicy), default: DeletionPolicy.Delete },
      ),
    },
    // Defaults to {} so that deletionPolicy is defaulted when secret is omitted.
    { default: {} },
  ),
);

export const tokenRequestSpec = named(
  'TokenRequestSpec',
  object(
    'What token to request, from which issuer, and where to keep it.',
    {
      issuerRef,
      scopes: array(
        'OAuth 2.0 scopes to request (sent space-separated as the scope parameter).',
        string('A scope.', {
          minLength: 1,
          maxLength: 256,
          // RFC 6749 §3.3 scope-token characters: printable ASCII except space, " and \.
          'x-kubernetes-validations': [
            rule(
              `self.matches('^[!-~]+$') && !self.contains('"') && !self.contains('\\\\')`,
              'must be a scope token: printable ASCII characters other than space, " and \\',
            ),
          ],
        }),
        { maxItems: 64, 'x-kubernetes-list-type': 'set' },
      ),
      audience: array(
        'Audiences to request, sent as the audience parameter where the authorization server supports it.',
        string('An audience.', { minLength: 1, maxLength: 512 }),
        { maxItems: 16, 'x-kubernetes-list-type': 'set' },
      ),
      resource: array(
        'RFC 8707 resource indicators: absolute URIs of the APIs the token is meant for.',
        string('A resource indicator.', {
          maxLength: 2048,
          'x-kubernetes-validations': [
            rule(
              "isURL(self) && url(self).getScheme() != '' && !self.contains('#')",
              'must be an absolute URI without a fragment, such as https://api.example.com/',
            ),
          ],
        }),
        { maxItems: 16, 'x-kubernetes-list-type': 'set' },
      ),
      renewBefore: duration(
        'Renew the token this long before it expires. At most one of renewBefore and renewBeforePercentage; with neither, the token is renewed when a third of its lifetime is left.',
      ),
      renewBeforePercentage: integer(
        'Renew the token when this percentage of its lifetime is left (1-99). At most one of renewBefore and renewBeforePercentage.',
        { minimum: 1, maximum: 99 },
      ),
      secret: tokenRequestSecret,
    },
    {
      required: ['issuerRef'],
      'x-kubernetes-validations': [
        rule(
          '!(has(self.renewBefore) && has(self.renewBeforePercentage))',
          'renewBefore and renewBeforePercentage are mutually exclusive: set at most one',
        ),
      ],
    },
  ),
);

export const tokenRequestStatus = named(
  'TokenRequestStatus',
  object('State of the token as last observed by the operator.', {
    conditions: conditions(
      'Ready: a valid token is in the Secret. Renewing: a renewal is due or being retried.',
    ),
    observedGeneration: observedGeneration(),
    secretName: string('Name of the Secret holding the token.'),
    tokenType: string('token_type of the current token, e.g. Bearer.'),
    grantedScopes: array(
      'Scopes granted with the current token, as reported by the authorization server.',
      string('A scope.'),
      { 'x-kubernetes-list-type': 'atomic' },
    ),
    expirationTime: dateTime('When the current token expires.'),
    renewalTime: dateTime('When the operator will renew the token next.'),
    lastRenewalTime: dateTime('When the current token was obtained.'),
    failedAttempts: integer('Consecutive failed renewal attempts; 0 after a success.', { minimum: 0 }),
    lastFailureTime: dateTime('When the last renewal attempt failed.', { nullable: true }),
    lastFailureMessage: string(
      'Why the last renewal attempt failed: the OAuth error code and a short description, never a response body.',
    ),
  }),
);

// --- TokenIssuer and ClusterTokenIssuer ----------------------------------------------------

const clientAuth = named(
  'ClientAuth',
  object(
    'How the client authenticates to the token endpoint.',
    {
      method: string(
        'Client authentication method: client_secret_basic, client_secret_post, private_key_jwt, tls_client_auth or none.',
        { enum: Object.values(ClientAuthMethod), default: ClientAuthMethod.ClientSecretBasic },
      ),
      clientSecretRef: secretKeyRef(
        'ClientSecretRef',
        'Secret key holding the client secret, for client_secret_basic and client_secret_post.',
        'client-secret',
      ),
      privateKeyRef: secretKeyRef(
        'PrivateKeyRef',
        'Secret key holding the PEM private key that signs client assertions, for private_key_jwt.',
        'tls.key',
        {
          alg: string('JWS algorithm of the client assertion; chosen from the key type when unset.', {
            enum: privateKeyJWTAlgorithms,
          }),
          kid: string('Key ID put in the header of the client assertion.', { minLength: 1, maxLength: 256 }),
        },
      ),
      clientCertificateRef: named(
        'ClientCertificateRef',
        object(
          'A kubernetes.io/tls Secret (tls.crt and tls.key) holding the client certificate, for tls_client_auth.',
          { name: secretName() },
          { required: ['name'] },
        ),
      ),
    },
    {
      // Defaults to {} so that method is defaulted when clientAuth is omitted.
      default: {},
      // has(self.method) guards: the API server checks these rules against the bare default {}
      // when it accepts the CRD; in stored objects method is always set (it has a default).
      'x-kubernetes-validations': [
        rule(
          `!has(self.method) || !(self.method in ['${ClientAuthMethod.ClientSecretBasic}', '${ClientAuthMethod.ClientSecretPost}']) || has(self.clientSecretRef)`,
          `clientSecretRef is required when method is ${ClientAuthMethod.ClientSecretBasic} or ${ClientAuthMethod.ClientSecretPost}`,
        ),
        rule(
          `!has(self.method) || self.method != '${ClientAuthMethod.PrivateKeyJWT}' || has(self.privateKeyRef)`,
          `privateKeyRef is required when method is ${ClientAuthMethod.PrivateKeyJWT}`,
        ),
        rule(
          `!has(self.method) || self.method != '${ClientAuthMethod.TLSClientAuth}' || has(self.clientCertificateRef)`,
          `clientCertificateRef is required when method is ${ClientAuthMethod.TLSClientAuth}`,
        ),
      ],
    },
  ),
);

const issuerProperties: Record<string, Schema> = {
  issuerURL: httpURL(
    'Issuer identifier; the token endpoint is found by OpenID Connect or RFC 8414 discovery. Exactly one of issuerURL and tokenEndpoint.',
  ),
  tokenEndpoint: httpURL(
    'Token endpoint, used as given without discovery. Exactly one of issuerURL and tokenEndpoint.',
  ),
  clientID: string('OAuth 2.0 client identifier.', { minLength: 1, maxLength: 1024 }),
  clientAuth,
  caBundle: string(
    "PEM-encoded CA certificates to trust for the issuer's endpoints. At most one of caBundle and caSecretRef.",
    {
      maxLength: 262144,
      'x-kubernetes-validations': [
        rule("self.contains('-----BEGIN CERTIFICATE-----')", 'caBundle must hold PEM-encoded certificates'),
      ],
    },
  ),
  caSecretRef: secretKeyRef(
    'CASecretRef',
    "Secret key holding PEM-encoded CA certificates to trust for the issuer's endpoints. At most one of caBundle and caSecretRef.",
    'ca.crt',
  ),
  // Capped: a token request holds operator capacity for up to this long.
  timeout: duration(
    'Timeout of each request to the discovery and token endpoints; at most 60s.',
    '10s',
    '60s',
  ),
  defaultTokenLifetime: duration(
    'Lifetime assumed for a token whose response has neither expires_in nor a JWT exp claim; short on purpose, so that a token of unknown lifetime is renewed early.',
    '5m',
  ),
};

const issuerRules: ValidationRule[] = [
  rule(
    'has(self.issuerURL) != has(self.tokenEndpoint)',
    'exactly one of issuerURL and tokenEndpoint must be set',
  ),
  rule(
    '!(has(self.caBundle) && has(self.caSecretRef))',
    'caBundle and caSecretRef are mutually exclusive: set at most one',
  ),
];

export const tokenIssuerSpec = named(
  'TokenIssuerSpec',
  object(
    "Where and how to obtain tokens; the Secrets it references live in the TokenIssuer's namespace.",
    issuerProperties,
    { required: ['clientID'], 'x-kubernetes-validations': issuerRules },
  ),
);

const allowedNamespaces = named(
  'AllowedNamespaces',
  object(
    'Namespaces whose TokenRequests may use this issuer: those listed in names and those matched by selector. Required, so that sharing credentials across namespaces is always an explicit decision.',
    {
      names: array(
        'Names of allowed namespaces.',
        string('A namespace name.', { minLength: 1, maxLength: 63 }),
        {
          maxItems: 256,
          'x-kubernetes-list-type': 'set',
        },
      ),
      selector: labelSelector,
    },
    {
      'x-kubernetes-validations': [
        rule(
          'has(self.names) || has(self.selector)',
          'allowedNamespaces must set names, selector or both (selector: {} allows every namespace)',
        ),
      ],
    },
  ),
);

export const clusterTokenIssuerSpec = named(
  'ClusterTokenIssuerSpec',
  object(
    "Where and how to obtain tokens, and for which namespaces; the Secrets it references live in the operator's cluster-resource namespace.",
    { ...issuerProperties, allowedNamespaces },
    { required: ['clientID', 'allowedNamespaces'], 'x-kubernetes-validations': issuerRules },
  ),
);

export const issuerStatus = named(
  'IssuerStatus',
  object('State of the issuer as last observed by the operator.', {
    conditions: conditions('Ready: the token endpoint is resolved and the credentials are present.'),
    observedGeneration: observedGeneration(),
    tokenEndpoint: string('Token endpoint in use: tokenEndpoint, or the one discovered from issuerURL.'),
  }),
);

// --- whole objects -------------------------------------------------------------------------

function resource(description: string, spec: Schema, status: Schema): Schema {
  return object(
    description,
    {
      apiVersion: string('Versioned schema of this representation of an object.'),
      kind: string('REST resource this object represents.'),
      metadata: { type: 'object' },
      spec,
      status,
    },
    { required: ['spec'] },
  );
}

/** The openAPIV3Schema of each kind. */
export const schemas = {
  TokenRequest: resource(
    'TokenRequest asks the operator to keep an OAuth 2.0 access token fresh in a Secret.',
    tokenRequestSpec,
    tokenRequestStatus,
  ),
  TokenIssuer: resource(
    'TokenIssuer says where and how TokenRequests in its namespace obtain tokens.',
    tokenIssuerSpec,
    issuerStatus,
  ),
  ClusterTokenIssuer: resource(
    'ClusterTokenIssuer says where and how TokenRequests in the allowed namespaces obtain tokens.',
    clusterTokenIssuerSpec,
    issuerStatus,
  ),
} as const satisfies Record<Kind, Schema>;
