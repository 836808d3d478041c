import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

const ROOT = new URL('..', import.meta.url).pathname;

/** The origin started at a terminal, as a person runs `npm start`: a pseudo-terminal from `script`. */
export interface TerminalOrigin {
  /** Everything shown so far, without colours, cursor moves or carriage returns. */
  screen(): string;
  /** Keys typed at the terminal (`\r` is Enter, `\x03` Ctrl-C). */
  type(keys: string): void;
  /** Resolves with the screen once it matches `pattern`; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Ctrl-C, as a person stops it; resolves to the exit code. */
  stop(): Promise<number | null>;
}

// CSI sequences (colours, cursor, erase), cursor save/restore, and carriage returns.
const ESC = String.fromCharCode(27);
const CONTROL = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]|${ESC}[78]|\\r`, 'g');

/**
 * Runs `origin/src/main.ts` under util-linux `script -qec`, which gives it a pseudo-terminal for
 * stdin and stdout, so that the origin behaves as it does for a person: colours, questions, banner.
 */
export function startInTerminal(env: Record<string, string>): TerminalOrigin {
  const command = `exec '${process.execPath}' --import tsx origin/src/main.ts`;
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      TERM: 'xterm-256color',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      // Nothing in the suite may reach the real hub, whatever a test's settings ask for.
      MODELS_HUB_URL: 'http://127.0.0.1:9',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  const listeners = new Set<() => void>();
  const onData = (data: Buffer) => {
    raw += data.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const screen = () => raw.replace(CONTROL, '');
  return {
    screen,
    type: (keys) => void child.stdin!.write(keys),
    waitFor(pattern, timeoutMs = 150_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(screen())) return;
          settle();
          resolve(screen());
        };
        const settle = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        const onExit = () => {
          settle();
          reject(new Error(`the origin exited before showing ${pattern}:\n${screen()}`));
        };
        const timer = setTimeout(() => {
          settle();
          reject(new Error(`no ${pattern} on the screen in ${timeoutMs} ms:\n${screen()}`));
        }, timeoutMs);
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.stdin!.write('\x03');
      const timer = setTimeout(() => killTree(child), 20_000);
      const [code] = await once(child, 'exit');
      clearTimeout(timer);
      child.stdin!.end();
      return code as number | null;
    },
  };
}

/** Kills `script` and whatever it started, by process id: it runs the origin in a session of its own. */
function killTree(child: ChildProcess): void {
  const kill = (pid: number) => {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const next of children === '' ? [] : children.split(/\s+/)) kill(Number(next));
    process.kill(pid, 'SIGKILL');
  };
  try {
    if (child.pid !== undefined) kill(child.pid);
  } catch {
    // Already gone.
  }
}
