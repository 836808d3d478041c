// Prints one line per test tier from vitest's JSON reports, then the total as
// "N passed, N failed" so that any reader of the log finds the count.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'test-output';
let passed = 0;
let failed = 0;
let skipped = 0;
console.log('\n=== test summary ===');
for (const file of readdirSync(dir)
  .filter((name) => name.endsWith('.json'))
  .sort()) {
  const report = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const tierSkipped = report.numPendingTests + report.numTodoTests;
  console.log(
    `${file.replace(/\.json$/, '').padEnd(24)} ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${tierSkipped} skipped`,
  );
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += tierSkipped;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
