// The functional core of token renewal: pure decisions with an injected clock and randomness.
export * from './backoff.ts';
export * from './checks.ts';
export * from './conditions.ts';
export * from './decide.ts';
export * from './desired-secret.ts';
export * from './duration.ts';
export * from './expiry.ts';
export * from './keys.ts';
export * from './renewal-time.ts';
export * from './secret-state.ts';
export * from './secret-update.ts';
export * from './spec-hash.ts';
export * from './status.ts';
export * from './template.ts';
export * from './time.ts';
