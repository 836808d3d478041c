import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../origin/test/harness.js';
import { type DockerStandIn, startDockerStandIn } from './docker-stand-in.js';
import { freePort, makeCertificate, ROOT, type RunResult, runCommand, tempDir } from './helpers.js';

/*
 * The rehearsal: docs/deploy.md followed as written, on this machine. Its shell blocks run in
 * order, each as the block says: `# as root on the VPS` as root, `# as deploy on the VPS` as a
 * real non-root user made for this test (runuser), `# on your machine` as root in a second
 * clone (the operator's), where `ssh user@host cmd` becomes runuser. Blocks marked "by hand"
 * are done by the test (a self-signed certificate stands for Cloudflare's); sections from
 * "## 10." on (restore) are not run. A temporary directory stands for / (RAGEDGE_SYSROOT),
 * so every file the docs create lives under it; the user, its group and everything else are
 * removed afterwards.
 *
 * Real: file ownership and modes, the cron file (each schedule parsed by cron-parser, each
 * command checked executable by the user and run as the user), nginx, PostgreSQL, the origin
 * processes, git, pg_dump, the alert webhook over HTTP. Stand-ins: the Docker engine
 * (docker-stand-in.ts), Cloudflare (wrangler records, and fails as wrangler does without a
 * wrangler.toml or the built site), ssh (runuser); and the commands that would change this
 * shared machine (apt-get, ufw, systemctl, sysctl, swap, sshd) are recorded instead of run.
 */

const SERVER_NAME = 'origin.example.com';

interface Block {
  section: string;
  who: 'root' | 'deploy' | 'machine';
  byHand: boolean;
  text: string;
}

/** The shell blocks of docs/deploy.md, in order, with where they run. */
function docBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let section = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('## ')) section = line.slice(3);
    if (line.trim() !== '```sh') continue;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) body.push(lines[i]!);
    const marker = body[0]?.trim() ?? '';
    const who = marker.startsWith('# as root on the VPS')
      ? 'root'
      : marker.startsWith('# as deploy on the')
        ? 'deploy'
        : marker.startsWith('# on your machine')
          ? 'machine'
          : null;
    if (who === null) continue;
    blocks.push({ section, who, byHand: marker.includes('by hand'), text: body.join('\n') });
  }
  return blocks;
}

const shims = (user: string, log: string, httpsPort: number, sys: string) => ({
  // Host-changing commands, recorded: the test machine is shared.
  'apt-get': `#!/bin/bash\necho "apt-get $*" >> ${log}\n`,
  ufw: `#!/bin/bash\necho "ufw $*" >> ${log}\n`,
  systemctl: `#!/bin/bash\necho "systemctl $*" >> ${log}\n`,
  sysctl: `#!/bin/bash\necho "sysctl $*" >> ${log}\n`,
  mkswap: `#!/bin/bash\necho "mkswap $*" >> ${log}\n`,
  swapon: `#!/bin/bash\necho "swapon $*" >> ${log}\n`,
  fallocate: `#!/bin/bash\necho "fallocate $*" >> ${log}\ntouch "\${@: -1}"\n`,
  // No sshd here. -t: accept; -T: the settings in effect, as sshd computes them: the first
  // value of each keyword wins, drop-ins read in name order where the Include line stands.
  sshd: `#!/bin/bash
echo "sshd $*" >> ${log}
[ "$1" = -t ] && exit 0
conf="$3"
files() { while IFS= read -r l; do
  case "$l" in Include\\ *) for f in $(dirname "$conf")/sshd_config.d/*.conf; do [ -f "$f" ] && cat "$f"; done ;; *) echo "$l" ;; esac
done < "$conf"; }
files | awk 'NF >= 2 && $1 !~ /^#/ { k = tolower($1); if (!(k in seen)) { seen[k] = 1; print k, tolower($2) } }'
`,
  // The operator's machine.
  ssh: `#!/bin/bash
echo "ssh $*" >> ${log}
while [ "\${1#-}" != "$1" ]; do shift 2; done
shift
cd "$(getent passwd ${user} | cut -d: -f6)"
exec runuser -u ${user} -- env "PATH=$PATH" "HOME=$PWD" RAGEDGE_SYSROOT=${sys} \\
  GIT_CONFIG_GLOBAL=${sys}/../gitconfig bash -c "$1"
`,
  npx: `#!/bin/bash
if [ "$1" = wrangler ]; then shift; exec wrangler "$@"; fi
exec /usr/bin/env -S "$(command -v -p npx || echo /usr/bin/npx)" "$@"
`,
  // Cloudflare: recorded; fails as wrangler does without its config or the site it uploads.
  wrangler: `#!/bin/bash
echo "wrangler $* (in $PWD)" >> ${log}
cat > /dev/null
[ -f wrangler.toml ] || { echo "wrangler: no wrangler.toml in $PWD" >&2; exit 1; }
if [ "$1" = deploy ]; then
  [ -f dist/site/index.html ] || { echo "The directory specified by the assets.directory field does not exist: dist/site" >&2; exit 1; }
fi
`,
  npm: `#!/bin/bash
echo "npm $* (in $PWD)" >> ${log}
if [ "$1" = ci ]; then ln -sfn ${ROOT}/node_modules node_modules; exit 0; fi
exec /usr/bin/npm "$@"
`,
  // DNS and Cloudflare: origin.example.com is this machine's nginx (its certificate is the
  // test's own), and example.com is the Worker, which forwards /api/* there with the edge secret.
  curl: `#!/bin/bash
args=()
edge=0
for a in "$@"; do
  case "$a" in https://example.com/*) edge=1; a="https://${SERVER_NAME}/\${a#https://example.com/}" ;; esac
  args+=("$a")
done
if [ "$edge" = 1 ]; then
  secret="$(grep -m1 '^EDGE_SHARED_SECRET=' ${sys}/opt/ragedge/.env | cut -d= -f2-)"
  args+=(-H "X-Edge-Secret: $secret")
fi
exec /usr/bin/curl --connect-to ${SERVER_NAME}:443:127.0.0.1:${httpsPort} -k "\${args[@]}"
`,
});

/** Where the rehearsal puts what the docs name. */
const substitutions = (sys: string, op: string, user: string, repo: string, hook: string) =>
  [
    ['https://github.com/<you>/ragedge.git', repo],
    ['https://hooks.slack.com/services/T000/B000/XXXX', hook],
    ['/opt/ragedge', `${sys}/opt/ragedge`],
    ['/etc/ssl/cloudflare', `${sys}/etc/ssl/cloudflare`],
    ['/etc/ragedge', `${sys}/etc/ragedge`],
    ['/var/log/ragedge', `${sys}/var/log/ragedge`],
    ['~/ragedge', `${op}/ragedge`],
    ['--user deploy', `--user ${user}`],
    ['deploy@203.0.113.10', `${user}@vps.test`],
  ] as const;

describe.skipIf(process.getuid?.() !== 0)(
  'the rehearsal: docs/deploy.md on a fresh "VPS" (as root: it creates a user)',
  () => {
    const user = `rgd${randomBytes(4).toString('hex')}`;
    let database: TestDatabase;
    let docker: DockerStandIn | undefined;
    let work: string;
    let sys: string;
    let op: string;
    let bin: string;
    let log: string;
    let hook: Server;
    const alerts: string[] = [];
    let dockerGroupExisted = false;
    let httpsPort = 0;
    const ports = { blue: 0, green: 0 };
    const ran: Array<{ block: Block; result: RunResult }> = [];
    const machineEnv: Record<string, string> = {};

    const dir = () => join(sys, 'opt/ragedge');
    const owner = (path: string) => {
      const stat = statSync(path);
      const name = (uid: number) =>
        execFileSync('id', ['-nu', String(uid)])
          .toString()
          .trim();
      return `${name(stat.uid)} ${(stat.mode & 0o777).toString(8)}`;
    };

    beforeAll(async () => {
      database = await createTestDatabase('postgres');
      work = tempDir('rehearsal');
      chmodSync(work, 0o755);
      sys = join(work, 'root');
      op = join(work, 'operator');
      bin = join(work, 'shims');
      for (const path of [sys, op, bin, join(sys, 'root/.ssh'), join(sys, 'etc/ssh/sshd_config.d')])
        mkdirSync(path, { recursive: true, mode: 0o755 });
      writeFileSync(join(work, 'gitconfig'), '[safe]\n\tdirectory = *\n', { mode: 0o644 });
      log = join(work, 'calls.log');
      writeFileSync(log, '');
      chmodSync(log, 0o666);
      // A fresh VPS: root's key, a stock sshd_config, and a cloud image's drop-in that turns
      // passwords on (the bootstrap's own drop-in must come before it).
      writeFileSync(
        join(sys, 'root/.ssh/authorized_keys'),
        'ssh-ed25519 AAAATEST operator@laptop\n',
      );
      writeFileSync(
        join(sys, 'etc/ssh/sshd_config'),
        'Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n',
      );
      writeFileSync(
        join(sys, 'etc/ssh/sshd_config.d/50-cloud-init.conf'),
        'PasswordAuthentication yes\n',
      );
      dockerGroupExisted = (await runCommand('getent', ['group', 'docker'])).code === 0;

      // "GitHub": a bare repository of the working tree as it is (committed or not).
      const snap = join(work, 'snapshot');
      const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
        cwd: ROOT,
      })
        .toString()
        .split('\0')
        .filter((file) => file !== '' && existsSync(join(ROOT, file)));
      for (const file of files) {
        mkdirSync(dirname(join(snap, file)), { recursive: true });
        copyFileSync(join(ROOT, file), join(snap, file));
        chmodSync(join(snap, file), statSync(join(ROOT, file)).mode & 0o777);
      }
      const git = (args: string[], cwd: string) =>
        execFileSync('git', args, { cwd, stdio: 'ignore' });
      git(['init', '-q', '-b', 'main'], snap);
      git(['add', '-A'], snap);
      git(['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'snapshot'], snap);
      git(['clone', '-q', '--bare', snap, join(work, 'ragedge.git')], work);

      hook = createServer((req, res) => {
        let body = '';
        req.on('data', (part: Buffer) => {
          body += part.toString();
        });
        req.on('end', () => {
          alerts.push(body);
          res.end('ok');
        });
      });
      await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));

      httpsPort = await freePort();
      const httpPort = await freePort();
      ports.blue = await freePort();
      ports.green = await freePort();
      for (const [name, body] of Object.entries(shims(user, log, httpsPort, sys)))
        writeFileSync(join(bin, name), body, { mode: 0o755 });
      docker = await startDockerStandIn({
        state: join(work, 'docker'),
        ports,
        dbUrl: database.url,
        // The compose network's `db`; models are not in this "image": the built-in embedder.
        originEnv: { DATABASE_URL: database.url!, EMBEDDER: 'hash', DEMO_SITE: 'off' },
        nginxMap: [
          ['/etc/nginx/ragedge', join(work, 'docker/nginx/mounted')],
          ['/var/run/ragedge', join(sys, 'opt/ragedge/run')],
          ['/etc/ssl/cloudflare', join(sys, 'etc/ssl/cloudflare')],
          ['listen 80 ', `listen 127.0.0.1:${httpPort} `],
          ['listen 443 ', `listen 127.0.0.1:${httpsPort} `],
          ['127.0.0.1:8001;', `127.0.0.1:${ports.blue};`],
          ['127.0.0.1:8002;', `127.0.0.1:${ports.green};`],
        ],
      });
      chmodSync(join(work, 'docker'), 0o755);
    }, 180_000);

    afterAll(async () => {
      await docker?.stop();
      await new Promise((resolve) => hook?.close(resolve));
      await runCommand('userdel', ['--remove', user]);
      await runCommand('groupdel', [user]);
      if (!dockerGroupExisted) await runCommand('groupdel', ['docker']);
      await database?.drop();
      if (work) rmSync(work, { recursive: true, force: true });
    }, 120_000);

    /** Runs one block as the docs say, with the rehearsal's substitutions. */
    async function runBlock(block: Block): Promise<RunResult> {
      let text = block.text;
      const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
      for (const [from, to] of substitutions(sys, op, user, join(work, 'ragedge.git'), hookUrl))
        text = text.split(from).join(to);
      // Docker's published ports, and the dump a person would pick: the newest.
      text = text
        .split('127.0.0.1:8001')
        .join(`127.0.0.1:${ports.blue}`)
        .split('127.0.0.1:8002')
        .join(`127.0.0.1:${ports.green}`);
      if (text.includes('<stamp>')) {
        const dumps = readdirSync(join(sys, 'opt/ragedge/backups/db'))
          .filter((file) => file.endsWith('.dump'))
          .sort();
        text = text.split('ragedge-<stamp>.dump').join(dumps.at(-1)!);
      }
      // The docker group exists once the bootstrap made it: the socket is for its members.
      const group = await runCommand('getent', ['group', 'docker']);
      if (group.code === 0) {
        const gid = Number(group.stdout.split(':')[2]);
        execFileSync('chown', [`0:${gid}`, join(work, 'docker/docker.sock')]);
      }
      const path = `${bin}:${docker!.bin}:${process.env.PATH}`;
      const env = {
        PATH: path,
        // Git refuses repositories owned by another user; GitHub would not be one. (A global
        // file: git drops GIT_CONFIG_COUNT for a local remote's upload-pack.)
        GIT_CONFIG_GLOBAL: join(work, 'gitconfig'),
        WRANGLER_SEND_METRICS: 'false',
      };
      if (block.who === 'root')
        return runCommand('bash', ['-euo', 'pipefail', '-c', text], {
          cwd: sys,
          env: { ...env, RAGEDGE_SYSROOT: sys, HOME: join(sys, 'root') },
          timeoutMs: 120_000,
        });
      if (block.who === 'deploy') {
        const home = join(sys, 'home', user);
        return runCommand(
          'runuser',
          [
            '-u',
            user,
            '--',
            'env',
            ...Object.entries({ ...env, HOME: home, RAGEDGE_SYSROOT: sys }).map(
              ([k, v]) => `${k}=${v}`,
            ),
            'bash',
            '-euo',
            'pipefail',
            '-c',
            text,
          ],
          { cwd: home, timeoutMs: 120_000 },
        );
      }
      // One terminal on your machine: what a block exports (ADMIN_TOKEN) the next one has.
      const saved = join(work, 'machine.env');
      const result = await runCommand(
        'bash',
        ['-euo', 'pipefail', '-c', `${text}\nenv -0 > ${saved}`],
        {
          cwd: op,
          env: {
            ...machineEnv,
            ...env,
            HOME: op,
            // Docker's published ports, as the test machine has them free.
            DEPLOY_BLUE_PORT: String(ports.blue),
            DEPLOY_GREEN_PORT: String(ports.green),
            DEPLOY_HEALTH_INTERVAL: '0.5',
            DEPLOY_HEALTH_TRIES: '120',
            DEPLOY_SWITCH_SETTLE_SECONDS: '1',
            DEPLOY_DRAIN_SECONDS: '5',
          },
          timeoutMs: 240_000,
        },
      );
      if (existsSync(saved))
        for (const entry of readFileSync(saved, 'utf8').split('\0')) {
          const eq = entry.indexOf('=');
          if (/^(ADMIN_TOKEN|KEY)$/.test(entry.slice(0, eq)))
            machineEnv[entry.slice(0, eq)] = entry.slice(eq + 1);
        }
      return result;
    }

    /** The certificate step, done as a person would: the files pasted, with the modes given. */
    function pasteCertificate(): void {
      const made = makeCertificate(work, SERVER_NAME);
      const target = join(sys, 'etc/ssl/cloudflare');
      copyFileSync(made.cert, join(target, 'origin.pem'));
      copyFileSync(made.key, join(target, 'origin.key'));
      chmodSync(join(target, 'origin.key'), 0o600);
    }

    it('every block through the restore runs as its marker says, and the product answers', async () => {
      const markdown = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
      // Everything through the restore onto this VPS; not the new-VPS restore, nor the sections
      // after it (nothing to run there).
      const blocks = docBlocks(markdown).filter(
        (block) => !/^1[1-9]\./.test(block.section) && !block.text.includes('on the new VPS'),
      );
      expect(blocks.map((b) => b.who)).toEqual(
        expect.arrayContaining(['root', 'deploy', 'machine']),
      );
      for (const block of blocks) {
        if (block.byHand) {
          pasteCertificate();
          continue;
        }
        const result = await runBlock(block);
        ran.push({ block, result });
        expect(
          result.code,
          `section "${block.section}", as ${block.who}:\n${block.text}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
        ).toBe(0);
      }
      // The chat site's question (section 7) streamed a whole answer through nginx.
      const chat = ran.find((r) => r.block.text.includes('/chat'))!;
      expect(chat.result.stdout).toMatch(/event: token/);
      expect(chat.result.stdout).toMatch(/event: done/);
      // The restore ran under maintenance and ended it; the origin serves the restored data.
      const restore = ran.find((r) => r.block.text.includes('pg_restore'))!;
      expect(restore.block.text).toMatch(
        /touch run\/maintenance\.on[\s\S]*--single-transaction[\s\S]*FLUSHALL[\s\S]*rm run\/maintenance\.on/,
      );
      expect(existsSync(join(dir(), 'run/maintenance.on'))).toBe(false);
      const docs = await runCommand('psql', [
        database.url!,
        '-Atc',
        "select count(*) from documents d join sites s on s.id = d.site_id where s.name = 'docs'",
      ]);
      expect(docs.stdout.trim()).toBe('2');
      // The test alert of step 1 reached the webhook.
      expect(alerts.some((body) => body.includes('ragedge alert test'))).toBe(true);
    }, 900_000);

    it('left the owners and modes the deploy user needs, and nothing world-readable that is secret', () => {
      expect(owner(join(dir(), '.env'))).toBe(`${user} 600`);
      expect(owner(join(sys, 'etc/ragedge/ops.env'))).toMatch(/^root 640$/);
      expect(statSync(join(sys, 'etc/ragedge/ops.env')).gid).toBe(
        Number(execFileSync('id', ['-g', user]).toString()),
      );
      expect(owner(join(sys, 'etc/ragedge/admin-token'))).toBe('root 600');
      expect(owner(join(sys, 'etc/ssl/cloudflare/origin.key'))).toBe('root 600');
      for (const path of ['run', 'backups/db', 'nginx/rendered'])
        expect(owner(join(dir(), path))).toBe(`${user} 750`);
      expect(owner(join(sys, 'var/log/ragedge'))).toBe(`${user} 750`);
      expect(readFileSync(join(dir(), '.env'), 'utf8')).toMatch(
        /^PUBLIC_ORIGINS=https:\/\/example\.com$/m,
      );
      expect(readFileSync(join(dir(), '.env'), 'utf8')).not.toMatch(/=change-me$/m);
      // The SSH drop-in comes before the cloud image's, and sshd -T was asked.
      expect(existsSync(join(sys, 'etc/ssh/sshd_config.d/01-ragedge.conf'))).toBe(true);
      expect(readFileSync(log, 'utf8')).toMatch(/^sshd -T -f /m);
    });

    it('the cron file: valid schedules, jobs run as the deploy user, each reports its failure', async () => {
      const cron = readFileSync(join(sys, 'etc/cron.d/ragedge'), 'utf8');
      expect(owner(join(sys, 'etc/cron.d/ragedge'))).toBe('root 644');
      const env: Record<string, string> = {};
      const jobs: Array<{ schedule: string; user: string; command: string }> = [];
      for (const line of cron.split('\n')) {
        if (line.trim() === '' || line.trim().startsWith('#')) continue;
        const assignment = /^([A-Z_]+)=(.*)$/.exec(line);
        if (assignment) {
          env[assignment[1]!] = assignment[2]!;
          continue;
        }
        const fields = line.trim().split(/\s+/);
        expect(fields.length, line).toBeGreaterThanOrEqual(7);
        jobs.push({
          schedule: fields.slice(0, 5).join(' '),
          user: fields[5]!,
          command: fields.slice(6).join(' '),
        });
      }
      expect(jobs.length).toBe(3);
      expect(env.PATH).toMatch(/(^|:)\/usr\/bin(:|$)/);
      for (const job of jobs) {
        expect(() => CronExpressionParser.parse(job.schedule), job.schedule).not.toThrow();
        expect(job.user).toBe(user);
        // Every line goes through cron-run.sh, which alerts on a non-zero exit.
        expect(job.command).toMatch(/\/scripts\/cron-run\.sh [a-z-]+ \//);
        const executable = job.command.split(' ').filter((word) => word.startsWith('/'));
        for (const file of executable)
          expect(
            (await runCommand('runuser', ['-u', user, '--', 'test', '-x', file])).code,
            file,
          ).toBe(0);
      }
      // The offsite tool is on cron's PATH (installed by the bootstrap's apt line).
      expect(readFileSync(log, 'utf8')).toMatch(/^apt-get install .*\brclone\b/m);

      // The daily backup, exactly as cron would run it: as the user, with the file's environment.
      const runJob = (command: string) =>
        runCommand(
          'runuser',
          [
            '-u',
            user,
            '--',
            'env',
            '-i',
            ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
            `PATH=${docker!.bin}:${env.PATH}`,
            'bash',
            '-c',
            command,
          ],
          {
            cwd: '/',
            timeoutMs: 120_000,
          },
        );
      const backup = jobs.find((job) => job.command.includes('backup.sh'))!;
      const before = alerts.length;
      const daily = await runJob(backup.command);
      expect(daily.code, daily.stderr).toBe(0);
      expect(readFileSync(join(sys, 'var/log/ragedge/backup.log'), 'utf8')).toMatch(
        /=== backup end .*: exit 0/,
      );
      expect(alerts.length).toBe(before);
      // A job that fails is reported through the webhook, with its name and exit code.
      const failing = await runJob(
        backup.command
          .replace(/ \/\S+backup\.sh$/, ' /bin/false')
          .replace('cron-run.sh backup', 'cron-run.sh probe'),
      );
      expect(failing.code).toBe(1);
      expect(alerts.slice(before).join('\n')).toMatch(/probe FAILED \(exit 1\)/);
    }, 300_000);
  },
);
