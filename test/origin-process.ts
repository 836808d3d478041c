import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const ROOT = new URL('..', import.meta.url).pathname;

/** The origin as a real process, started the way `npm start` starts it. */
export interface OriginProcess {
  child: ChildProcess;
  url: string;
  logs: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs a TypeScript entry file of the project with node + tsx. */
export function spawnTs(entry: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts the origin on a free loopback port and waits (bounded) until it listens. */
export async function startOrigin(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<OriginProcess> {
  const child = spawnTs('origin/src/main.ts', [], {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    // Tests count sites: the first-start demo site is asked for explicitly where it is tested.
    DEMO_SITE: 'off',
    // Nothing in the suite may reach the real hub, whatever a test's settings ask for.
    MODELS_HUB_URL: 'http://127.0.0.1:9',
    ...env,
  });
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Never leave an origin running behind a failed start.
      child.kill('SIGKILL');
      reject(new Error(`origin did not start in ${timeoutMs} ms:\n${logs.join('\n')}`));
    }, timeoutMs);
    const onLine = (line: string) => {
      logs.push(line);
      if (line.includes('"origin listening"')) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`origin exited with ${code}:\n${logs.join('\n')}`));
    });
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    logs,
    async stop(signal = 'SIGTERM') {
      // A process killed by a signal has no exit code, and its exit event has passed already.
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const [code] = await once(child, 'exit');
      clearTimeout(timer);
      return code as number | null;
    },
  };
}

/** Runs a command to completion (bounded), collecting its output. */
export async function run(
  entry: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnTs(entry, args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (data: Buffer) => {
    stdout += data.toString();
  });
  child.stderr!.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: code as number | null, stdout, stderr };
}
