#!/usr/bin/env node
// Builds the widget (dist/widget/widget.js) and the chat site (dist/site/), reports the widget's
// gzipped size into bench/results/widget-size.json, and fails when it is over the budget.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUDGET_BYTES = 10 * 1024;
const common = {
  bundle: true,
  minify: true,
  legalComments: 'none',
  target: ['chrome100', 'firefox100', 'safari15'],
  logLevel: 'warning',
};

const widgetFile = join(ROOT, 'dist/widget/widget.js');
await build({
  ...common,
  entryPoints: [join(ROOT, 'web/widget/src/index.ts')],
  outfile: widgetFile,
  format: 'iife',
  // Served as UTF-8 (origin and edge say so): its non-Latin strings stay 2 bytes a character
  // instead of 6-byte \u escapes.
  charset: 'utf8',
});

const siteDir = join(ROOT, 'dist/site');
mkdirSync(siteDir, { recursive: true });
await build({
  ...common,
  entryPoints: [join(ROOT, 'web/site/src/main.ts')],
  outfile: join(siteDir, 'site.js'),
  format: 'esm',
});
copyFileSync(join(ROOT, 'web/site/index.html'), join(siteDir, 'index.html'));
copyFileSync(join(ROOT, 'web/site/site.css'), join(siteDir, 'site.css'));

const widget = readFileSync(widgetFile);
const gzipBytes = gzipSync(widget, { level: 9 }).length;
const brotliBytes = brotliCompressSync(widget).length;
const siteBytes = Object.fromEntries(
  ['index.html', 'site.js', 'site.css'].map((name) => {
    const body = readFileSync(join(siteDir, name));
    return [name, { bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length }];
  }),
);
// The same version the origin computes for `?v=`: the first 12 hex digits of the SHA-256.
const version = createHash('sha256').update(widget).digest('hex').slice(0, 12);
const result = {
  name: 'widget-size',
  command: 'node web/build.mjs',
  measuredAt: new Date().toISOString(),
  file: 'dist/widget/widget.js',
  version,
  bytes: widget.length,
  gzipBytes,
  gzipLevel: 9,
  brotliBytes,
  budgetGzipBytes: BUDGET_BYTES,
  withinBudget: gzipBytes <= BUDGET_BYTES,
  site: siteBytes,
};
// Test runs build too; only a deliberate build records the figures.
if (!process.argv.includes('--no-results')) {
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results/widget-size.json'),
    `${JSON.stringify(result, null, 2)}\n`,
  );
}
console.log(
  `widget.js ${widget.length} B, ${gzipBytes} B gzipped (budget ${BUDGET_BYTES} B), version ${version}`,
);
if (!result.withinBudget) {
  console.error(
    `widget.js is ${gzipBytes - BUDGET_BYTES} B over its ${BUDGET_BYTES} B gzip budget`,
  );
  process.exit(1);
}
