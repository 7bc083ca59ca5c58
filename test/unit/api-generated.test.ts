// The committed CRDs and TypeScript types must be exactly what src/api/schema.ts renders to, so
// that a schema edit without `npm run generate` fails here rather than in a cluster.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { crdDir, renderCrdFiles, renderTypes, typesPath } from '../../hack/render-api.ts';
import { type Schema, schemas } from '../../src/api/schema.ts';

const root = resolve(import.meta.dirname, '../..');
const hint = 'run npm run generate';

async function committed(path: string): Promise<string> {
  return readFile(join(root, path), 'utf8').catch(() => assert.fail(`${path} is missing: ${hint}`));
}

test('committed CRD files match src/api/schema.ts', async () => {
  const rendered = renderCrdFiles();
  for (const [path, content] of rendered) {
    assert.equal(await committed(path), content, `${path} is out of date: ${hint}`);
  }
  const extra = (await readdir(join(root, crdDir)))
    .map((entry) => `${crdDir}/${entry}`)
    .filter((path) => path.endsWith('.yaml') && !rendered.has(path));
  assert.deepEqual(extra, [], `stale CRD files: ${hint}`);
});

test('committed TypeScript types match src/api/schema.ts', async () => {
  assert.equal(await committed(typesPath), await renderTypes(), `${typesPath} is out of date: ${hint}`);
});

// Descriptions are what `kubectl explain` shows and what the generated doc comments say.
test('every schema field has a description', () => {
  const missing: string[] = [];
  const visit = (schema: Schema, path: string) => {
    if (!schema.description) missing.push(path);
    for (const [key, child] of Object.entries(schema.properties ?? {})) {
      // metadata is described by the API server itself (ObjectMeta).
      if (path.split('.').length === 1 && key === 'metadata') continue;
      visit(child, `${path}.${key}`);
    }
    if (schema.items) visit(schema.items, `${path}[]`);
    if (schema.additionalProperties) visit(schema.additionalProperties, `${path}{}`);
  };
  for (const [kind, schema] of Object.entries(schemas)) visit(schema, kind);
  assert.deepEqual(missing, []);
});
