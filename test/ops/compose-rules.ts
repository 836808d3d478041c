/** A compose file as YAML parses it; only the parts the rules read are typed. */
export interface ComposeFile {
  services: Record<string, ComposeService>;
}

interface ComposeService {
  ports?: Array<string | { published?: string | number; host_ip?: string }>;
  mem_limit?: string;
  deploy?: { resources?: { limits?: { memory?: string } } };
  restart?: string;
  environment?: Record<string, unknown> | string[];
  healthcheck?: unknown;
  depends_on?: string[] | Record<string, { condition?: string }>;
  network_mode?: string;
  profiles?: string[];
}

/** The only service allowed to publish on every interface, and only 80 and 443. */
const PUBLIC_SERVICE = 'nginx';
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIAL/i;
/** Environment values that cannot be secrets: empty, or a ${VAR} taken from the environment. */
const NOT_A_SECRET = /^(\$\{[A-Z0-9_]+(:-[^}]*)?\}|)$/;

/**
 * What is wrong with a compose file for our VPS: a port published beyond loopback (nginx's
 * 80/443 excepted), a service without a memory limit or restart policy, a secret written into
 * the file (an env value under a secret-looking name, or credentials in a URL), a dependency
 * on a stateful service that does not wait for its health check.
 */
export function composeViolations(file: ComposeFile, rawText: string): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(file.services ?? {})) {
    for (const port of service.ports ?? []) {
      const text =
        typeof port === 'string' ? port : `${port.host_ip ?? ''}:${port.published ?? ''}`;
      const loopback = text.startsWith('127.0.0.1:');
      const publicOk = name === PUBLIC_SERVICE && /^(0\.0\.0\.0:)?(80|443):(80|443)$/.test(text);
      if (!loopback && !publicOk) problems.push(`${name}: port ${text} is not bound to 127.0.0.1`);
    }
    if (service.network_mode === 'host' && name !== PUBLIC_SERVICE) {
      problems.push(`${name}: network_mode host bypasses the loopback-only ports`);
    }
    if (
      service.mem_limit === undefined &&
      service.deploy?.resources?.limits?.memory === undefined
    ) {
      problems.push(`${name}: no memory limit`);
    }
    if (service.restart === undefined || service.restart === 'no') {
      problems.push(`${name}: no restart policy`);
    }
    if (service.healthcheck === undefined) problems.push(`${name}: no health check`);
    const env = Array.isArray(service.environment)
      ? Object.fromEntries(service.environment.map((line) => line.split(/=(.*)/s).slice(0, 2)))
      : (service.environment ?? {});
    for (const [key, value] of Object.entries(env)) {
      if (SECRET_NAME.test(key) && !NOT_A_SECRET.test(String(value ?? ''))) {
        problems.push(`${name}: secret ${key} is written in the file; use env_file`);
      }
    }
    const deps = service.depends_on ?? {};
    for (const [dep, spec] of Array.isArray(deps)
      ? deps.map((d) => [d, {}] as const)
      : Object.entries(deps)) {
      const stateful = ['db', 'redis-cache', 'redis-limits'].includes(dep);
      if (stateful && (spec as { condition?: string }).condition !== 'service_healthy') {
        problems.push(`${name}: depends on ${dep} without condition: service_healthy`);
      }
    }
  }
  for (const match of rawText.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s/:@'"]+:[^\s/@'"]+@/gi)) {
    problems.push(`credentials in a URL: ${match[0]}`);
  }
  return problems;
}
