import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { mainConfig, ROOT, runCommand } from './helpers.js';

/*
 * A stand-in for the Docker engine, the one part of the VPS that cannot run here. Like the real
 * one it is a root daemon behind a Unix socket that the deploy user may use (docker group): the
 * `docker` client it writes forwards each command over that socket, so the deploy user's
 * commands start root's processes as on the VPS. What it starts is real: each origin color is
 * the real origin process (node, on its loopback port, with the checkout's .env), nginx is the
 * real nginx with the rendered config. `compose exec -T db <tool>` runs the PostgreSQL tool
 * directly in the client (the database is the test's real PostgreSQL, reached over TCP).
 */

export interface DockerStandIn {
  /** A directory holding the `docker` client; put it first on PATH. */
  bin: string;
  /** Every command the client sent, in order. */
  calls: string[];
  /** The pid of a running service (`origin-blue`, `origin-green`, `nginx`), if any. */
  pid(service: string): number | undefined;
  stop(): Promise<void>;
}

export interface DockerStandInOptions {
  /** Where state, logs and the socket live (root-owned; the socket is opened to `socketGroup`). */
  state: string;
  ports: { blue: number; green: number };
  /** Run the origin from here instead of the compose project's directory. */
  appDir?: string;
  /** The group allowed to use the socket (the deploy user's). */
  socketGroup?: number;
  /** Extra environment for every origin (after .env), e.g. the database the compose network names `db`. */
  originEnv?: Record<string, string>;
  /** For `compose exec -T db <tool> URL`: the database a URL argument stands for. */
  dbUrl?: string;
  /**
   * What Docker's mounts and published ports do for nginx: container paths in the rendered
   * config → host paths, listen ports → test ports, and the compose file's origin ports → the
   * colors' test ports. Text replacements applied to a copy of nginx/rendered.
   */
  nginxMap?: Array<[string, string]>;
}

const CLIENT = (socket: string, log: string, dbUrl: string) => `#!/bin/bash
# docker client stand-in: compose exec -T db runs the tool here; all else goes to the daemon.
set -u
args=("$@")
if [ "\${args[0]:-}" = compose ]; then
  i=1
  while [ "\${args[$i]:-}" = -f ] || [ "\${args[$i]:-}" = --profile ]; do i=$((i + 2)); done
  if [ "\${args[$i]:-}" = exec ] && [ "\${args[$((i + 1))]:-}" = -T ] && [ "\${args[$((i + 2))]:-}" = db ]; then
    printf 'docker %s\\n' "$*" >> ${log} 2>/dev/null || true
    tool=()
    for arg in "\${args[@]:$((i + 3))}"; do
      case "$arg" in postgres://*|postgresql://*) [ -n "${dbUrl}" ] && arg="${dbUrl}" ;; esac
      tool+=("$arg")
    done
    exec "\${tool[@]}"
  fi
fi
out="$(printf '%s\\0' "$PWD" "$@" | curl -s -m 120 --unix-socket ${socket} --data-binary @- http://docker/run)" || {
  echo "Cannot connect to the Docker daemon at unix://${socket}" >&2; exit 1; }
printf '%s' "\${out%__exit=*}"
exit "\${out##*__exit=}"
`;

/** Reads KEY=VALUE lines, as compose's env_file does (no interpolation, no quotes removed). */
function envFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (!existsSync(path)) return env;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

export async function startDockerStandIn(options: DockerStandInOptions): Promise<DockerStandIn> {
  const { state } = options;
  mkdirSync(join(state, 'images'), { recursive: true });
  mkdirSync(join(state, 'logs'), { recursive: true });
  const bin = join(state, 'bin');
  mkdirSync(bin, { recursive: true });
  const socket = join(state, 'docker.sock');
  const callLog = join(state, 'client-calls.log');
  writeFileSync(callLog, '');
  chmodSync(callLog, 0o666);
  writeFileSync(join(bin, 'docker'), CLIENT(socket, callLog, options.dbUrl ?? ''), { mode: 0o755 });
  const calls: string[] = [];
  const running = new Map<string, ChildProcess>();
  const nginxPrefix = join(state, 'nginx');
  let nginxPid: number | undefined;

  const image = (name: string) => join(state, 'images', name.replace(/\//g, '_'));

  async function startOrigin(service: string, dir: string): Promise<string> {
    const color = service.replace('origin-', '') as 'blue' | 'green';
    const old = running.get(service);
    if (old && old.exitCode === null) return `${service} is up-to-date\n`;
    const app = options.appDir ?? dir;
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...envFile(join(dir, '.env')),
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(options.ports[color]),
      ...options.originEnv,
    };
    const logFile = join(state, 'logs', `${service}.log`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'origin/src/main.ts'], {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const append = (data: Buffer) => writeFileSync(logFile, data, { flag: 'a' });
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    running.set(service, child);
    return `Container ragedge-${service}-1  Started\n`;
  }

  async function stopOrigin(service: string): Promise<string> {
    const child = running.get(service);
    if (!child || child.exitCode !== null || child.signalCode !== null) return '';
    child.kill('SIGTERM');
    // Docker's stop_grace_period (25 s in the compose file), then SIGKILL.
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    await once(child, 'exit');
    clearTimeout(timer);
    return `Container ragedge-${service}-1  Stopped\n`;
  }

  const nginxArgs = () => [
    '-p',
    nginxPrefix,
    '-c',
    join(nginxPrefix, 'nginx.conf'),
    '-g',
    `pid ${join(nginxPrefix, 'nginx.pid')}; error_log ${join(nginxPrefix, 'error.log')};`,
  ];

  /** The rendered config as the container would see it, or a mapped copy of it. */
  function mount(dir: string): string {
    const rendered = join(dir, 'nginx/rendered');
    if (!options.nginxMap) return join(rendered, 'ragedge.conf');
    const copy = join(nginxPrefix, 'mounted');
    rmSync(copy, { recursive: true, force: true });
    cpSync(rendered, copy, { recursive: true });
    for (const file of readdirSync(copy, { recursive: true, encoding: 'utf8' })) {
      const path = join(copy, file);
      if (!file.endsWith('.conf')) continue;
      let text = readFileSync(path, 'utf8');
      for (const [from, to] of options.nginxMap) text = text.split(from).join(to);
      writeFileSync(path, text);
    }
    return join(copy, 'ragedge.conf');
  }

  async function nginx(action: 'up' | 'reload' | 'stop', dir: string): Promise<[number, string]> {
    if (action === 'up') {
      if (nginxPid !== undefined) return [0, 'nginx is up-to-date\n'];
      mkdirSync(nginxPrefix, { recursive: true });
      writeFileSync(join(nginxPrefix, 'nginx.conf'), mainConfig(nginxPrefix, mount(dir)));
      const started = await runCommand('/usr/sbin/nginx', nginxArgs());
      if (started.code !== 0) return [1, started.stderr];
      nginxPid = Number(readFileSync(join(nginxPrefix, 'nginx.pid'), 'utf8'));
      return [0, 'Container ragedge-nginx-1  Started\n'];
    }
    if (nginxPid === undefined) return [1, 'service "nginx" is not running\n'];
    if (action === 'reload') mount(dir);
    const result = await runCommand('/usr/sbin/nginx', [
      ...nginxArgs(),
      '-s',
      action === 'reload' ? 'reload' : 'quit',
    ]);
    if (action === 'stop' && result.code === 0) nginxPid = undefined;
    return [result.code ?? 1, result.stdout + result.stderr];
  }

  async function handle(dir: string, args: string[]): Promise<[number, string]> {
    if (args[0] === 'image' && args[1] === 'inspect')
      return [existsSync(image(args[2]!)) ? 0 : 1, ''];
    if (['image', 'container', 'builder'].includes(args[0]!) && args[1] === 'prune')
      return [0, 'Total reclaimed space: 0B\n'];
    if (args[0] === 'ps')
      return [
        0,
        [...running]
          .filter(([, child]) => child.exitCode === null)
          .map(([name]) => `ragedge-${name}-1\tUp 5 minutes (healthy)\n`)
          .join(''),
      ];
    if (args[0] === 'tag') {
      if (!existsSync(image(args[1]!))) return [1, `No such image: ${args[1]}\n`];
      copyFileSync(image(args[1]!), image(args[2]!));
      return [0, ''];
    }
    if (args[0] !== 'compose') return [1, `stand-in: unsupported: docker ${args.join(' ')}\n`];
    let i = 1;
    while (args[i] === '-f' || args[i] === '--profile') i += 2;
    const [verb, ...rest] = args.slice(i);
    const services = rest.filter((arg) => !arg.startsWith('-') && !/^\d+$/.test(arg));
    switch (verb) {
      case 'build': {
        // The "image" is the checkout as built: its commit, and dependencies beside it.
        const head = await runCommand('git', ['-C', dir, 'rev-parse', 'HEAD']);
        writeFileSync(image('ragedge-origin:latest'), `${head.stdout.trim() || 'working-tree'}\n`);
        if (options.appDir === undefined && !existsSync(join(dir, 'node_modules')))
          symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
        return [0, 'Successfully built ragedge-origin:latest\n'];
      }
      case 'up': {
        let out = '';
        for (const service of services) {
          if (service.startsWith('origin-')) out += await startOrigin(service, dir);
          else if (service === 'nginx') {
            const [code, text] = await nginx('up', dir);
            if (code !== 0) return [code, out + text];
            out += text;
          } else out += `Container ragedge-${service}-1  Running (the test's own)\n`;
        }
        return [0, out];
      }
      case 'stop': {
        let out = '';
        for (const service of services)
          if (service.startsWith('origin-')) out += await stopOrigin(service);
          else if (service === 'nginx') out += (await nginx('stop', dir))[1];
        return [0, out];
      }
      case 'logs': {
        const file = join(state, 'logs', `${services.at(-1)}.log`);
        const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
        return [0, text.split('\n').slice(-40).join('\n')];
      }
      case 'exec': {
        const command = rest.filter((arg) => arg !== '-T');
        if (command[0] === 'nginx' && command.slice(1).join(' ') === 'nginx -s reload')
          return nginx('reload', dir);
        // The answer cache: the origins here keep it in process, so a restarted origin starts
        // empty, which is what FLUSHALL gives the real one.
        if (command.join(' ') === 'redis-cache redis-cli FLUSHALL') return [0, 'OK\n'];
        return [1, `stand-in: unsupported exec: ${command.join(' ')}\n`];
      }
      case 'ps':
        return [
          0,
          [...running]
            .map(([name, c]) => `${name} ${c.exitCode === null ? 'Up' : 'Exited'}`)
            .join('\n'),
        ];
      default:
        return [1, `stand-in: unsupported: docker ${args.join(' ')}\n`];
    }
  }

  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const [dir, ...args] = Buffer.concat(parts).toString('utf8').split('\0').slice(0, -1);
      calls.push(`docker ${args.join(' ')}`);
      handle(dir ?? '/', args).then(
        ([code, out]) => res.end(`${out}__exit=${code}`),
        (error: unknown) => res.end(`stand-in failed: ${String(error)}\n__exit=1`),
      );
    });
  });
  rmSync(socket, { force: true });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  chmodSync(socket, 0o660);
  if (options.socketGroup !== undefined) {
    const { chownSync } = await import('node:fs');
    chownSync(socket, 0, options.socketGroup);
  }

  return {
    bin,
    calls,
    pid: (service) =>
      service === 'nginx'
        ? nginxPid
        : running.get(service)?.exitCode === null
          ? running.get(service)?.pid
          : undefined,
    async stop() {
      for (const service of running.keys()) await stopOrigin(service);
      if (nginxPid !== undefined) await nginx('stop', '/');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
