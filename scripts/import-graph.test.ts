import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseOptions, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The code that ships: the origin's server and tools, the edge Worker, the front ends. */
const SHIPPED = ['origin/src', 'origin/tools', 'edge-worker/src', 'web'];

/** Every rule broken, one line each: `rule: from → to` (a loop lists its whole path). */
function violations(result: ICruiseResult): string[] {
  return (result.summary.violations ?? []).map((v) => {
    const path = v.cycle === undefined ? [v.from, v.to] : [v.from, ...v.cycle.map((c) => c.name)];
    return `${v.rule.name}: ${path.join(' → ')}`;
  });
}

/** Cruises `paths` under `baseDir` with the repository's rules (`.dependency-cruiser.cjs`). */
async function check(baseDir: string, paths: string[]): Promise<ICruiseResult> {
  const options: ICruiseOptions = await extractDepcruiseOptions(
    join(ROOT, '.dependency-cruiser.cjs'),
  );
  const tsConfig = extractTSConfig(join(ROOT, 'tsconfig.json'));
  const previous = process.cwd();
  // Rules match paths relative to the folder cruised from.
  process.chdir(baseDir);
  try {
    const output = await cruise(
      paths,
      { ...options, baseDir, ruleSet: options.ruleSet, validate: true },
      undefined,
      { tsConfig },
    );
    return output.output as ICruiseResult;
  } finally {
    process.chdir(previous);
  }
}

describe('the import graph', () => {
  it('has no loop, and no domain module imports the HTTP layer', async () => {
    const result = await check(ROOT, SHIPPED);
    // The check saw the code (a wrong path or resolver would find nothing to break).
    expect(result.summary.totalCruised).toBeGreaterThan(250);
    expect(result.summary.totalDependenciesCruised).toBeGreaterThan(700);
    expect(violations(result)).toEqual([]);
  });

  describe('the rules, on a small tree laid out like the origin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-graph-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext' } }));
    write('origin/src/errors.ts', 'export const code = 1;\n');
    // A loop through a type-only import: the shape of the one this check was written for.
    write('origin/src/chat/turn.ts', "import { handle } from '../middleware/handler.js';\n");
    write(
      'origin/src/middleware/handler.ts',
      "import type { Services } from '../services.js';\nimport { ChatBody } from '../routes/chat.js';\nexport const handle = (s?: Services) => [s, ChatBody];\n",
    );
    write(
      'origin/src/services.ts',
      "import type { Turn } from './chat/turn.js';\nexport interface Services { turn?: Turn }\n",
    );
    write(
      'origin/src/routes/chat.ts',
      "import { handle } from '../middleware/handler.js';\nexport const ChatBody = handle;\n",
    );
    write(
      'origin/src/app.ts',
      "import { ChatBody } from './routes/chat.js';\nexport { ChatBody };\n",
    );

    it('reports each rule broken', async () => {
      const found = violations(await check(dir, ['origin/src']));
      expect(found).toContain(
        'no-circular: origin/src/chat/turn.ts → origin/src/middleware/handler.ts → origin/src/services.ts → origin/src/chat/turn.ts',
      );
      expect(found).toContain(
        'domain-not-on-http: origin/src/chat/turn.ts → origin/src/middleware/handler.ts',
      );
      expect(found).toContain(
        'middleware-not-on-routes: origin/src/middleware/handler.ts → origin/src/routes/chat.ts',
      );
      expect(found).toContain(
        'routes-not-on-middleware: origin/src/routes/chat.ts → origin/src/middleware/handler.ts',
      );
      // The entry file assembles the HTTP layer: it may import routes.
      expect(found.filter((line) => line.includes('origin/src/app.ts'))).toEqual([]);
    });
  });
});
