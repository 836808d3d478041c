import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('the Worker binding types', () => {
  it('are what `wrangler types` makes of wrangler.toml today (npm run types:edge)', async () => {
    const script: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts[
      'types:edge'
    ];
    expect(script).toMatch(/^wrangler types /);
    const args = [...script.split(' ').slice(1), '--check'];
    // Offline and quiet, as the edge's other tests run wrangler.
    const run = await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), ...args],
      {
        cwd: ROOT,
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          WRANGLER_SEND_METRICS: 'false',
          CI: '1',
        },
      },
    ).catch((error: { stdout?: string; stderr?: string }) => ({
      stdout: error.stdout ?? '',
      stderr: `${error.stderr ?? ''}\nstale: run npm run types:edge`,
    }));
    expect(`${run.stdout}${run.stderr}`).toContain('are up to date');
  });
});
