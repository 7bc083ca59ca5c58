// Secret annotations the renewal logic needs beyond those in src/api/constants.ts. Kept here
// until they are moved there (same `token-renewer.io/` prefix, which users may not set).
import { Annotation, annotationPrefix } from '../api/constants.ts';

export const RenewalAnnotation = {
  ...Annotation,
  /** On the Secret: hash of the Secret's data as written, so a hand edit is noticed without keeping the token. */
  DataHash: `${annotationPrefix}data-hash`,
  /** On the Secret: fingerprint of the issuer (endpoint, client, credential versions) that issued the token. */
  IssuerHash: `${annotationPrefix}issuer-hash`,
} as const;
