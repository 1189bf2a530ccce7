#!/usr/bin/env node
// The web UI's budget, checked by `npm run build`: the JavaScript a browser loads before the
// first screen (the entry chunk and every chunk it imports statically) must be at most
// 100 KB gzipped, and the terminal (xterm.js) and the YAML editor (CodeMirror) must stay out
// of it (loaded by dynamic import when opened). Exits 1 with the numbers when either fails.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const BUDGET = 100 * 1024;
const out = fileURLToPath(new URL('../dist/web/', import.meta.url));
const manifest = JSON.parse(readFileSync(`${out}.vite/manifest.json`, 'utf8'));
const entry = manifest['index.html'];
if (!entry?.isEntry) throw new Error('dist/web/.vite/manifest.json has no index.html entry');

const initial = new Set();
const walk = (key) => {
  if (initial.has(key)) return;
  initial.add(key);
  for (const k of manifest[key]?.imports ?? []) walk(k);
};
walk('index.html');

let total = 0;
const rows = [];
for (const key of initial) {
  const file = manifest[key].file;
  const size = gzipSync(readFileSync(out + file), { level: 9 }).length;
  total += size;
  rows.push(`  ${file}: ${(size / 1024).toFixed(1)} KB gzipped`);
}
const problems = [];
if (total > BUDGET) problems.push(`initial JavaScript is ${(total / 1024).toFixed(1)} KB gzipped, over the ${BUDGET / 1024} KB budget`);
for (const lazy of ['src/lazy/terminal.ts', 'src/lazy/yaml-editor.ts']) {
  const m = manifest[lazy];
  if (!m?.isDynamicEntry) problems.push(`${lazy} is not a separate, dynamically imported chunk`);
  else if (initial.has(lazy)) problems.push(`${lazy} is part of the initial load`);
}
const initialFiles = [...initial].map((k) => manifest[k].file);
for (const k of Object.keys(manifest)) {
  if (/node_modules\/(@xterm|@codemirror)\//.test(k) && initial.has(k)) problems.push(`${k} is in the initial load`);
}
console.log(`web UI: initial JavaScript ${(total / 1024).toFixed(1)} KB gzipped (budget ${BUDGET / 1024} KB): ${initialFiles.join(', ')}`);
if (problems.length > 0) {
  console.error(rows.join('\n'));
  for (const p of problems) console.error(`web budget: ${p}`);
  process.exit(1);
}
