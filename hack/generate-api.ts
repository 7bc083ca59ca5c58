// `npm run generate`: writes crds/*.yaml and src/api/generated/types.ts from src/api/schema.ts,
// and removes CRD files that no longer correspond to a kind.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { crdDir, renderCrdFiles, renderTypes, typesPath } from './render-api.ts';

const root = resolve(import.meta.dirname, '..');

const files = renderCrdFiles();
files.set(typesPath, await renderTypes());

await mkdir(join(root, crdDir), { recursive: true });
for (const entry of await readdir(join(root, crdDir))) {
  const path = `${crdDir}/${entry}`;
  if (entry.endsWith('.yaml') && !files.has(path)) {
    await rm(join(root, path));
    console.log(`removed ${path}`);
  }
}
for (const [path, content] of files) {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
  console.log(`wrote ${path}`);
}
