export * from './constants.ts';
export { type CustomResourceDefinition, crds, type PrinterColumn } from './crds.ts';
export type * from './generated/types.ts';
export { type Schema, schemas } from './schema.ts';
