import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) =>
  readFileSync(new URL(`../../../deploy/monitoring/${path}`, import.meta.url), 'utf8');

/**
 * The monitoring files and the compose profile that mounts them agree on a few names; these
 * checks keep them from drifting apart (no YAML parser is a dependency, so they read the text).
 */
describe('the monitoring profile files', () => {
  it('scrape the origin every 15 s with the admin token from a file', () => {
    const prometheus = read('prometheus.yml');
    expect(prometheus).toMatch(/^\s+scrape_interval: 15s$/m);
    expect(prometheus).toMatch(/^\s+metrics_path: \/metrics$/m);
    // Blue-green deploys: both colors are scraped, one of them is down between deploys.
    expect(prometheus).toMatch(
      /^\s+- targets: \[["']origin-blue:8000["'], ["']origin-green:8000["']\]$/m,
    );
    expect(prometheus).toMatch(
      /^\s+type: Bearer\n\s+credentials_file: \/etc\/prometheus\/admin-token$/m,
    );
    // The token itself never sits in the file.
    expect(prometheus).not.toMatch(/^\s+credentials:/m);
  });

  it('give Grafana the data source and the dashboard folder the dashboard expects', () => {
    const datasource = read('grafana/provisioning/datasources/prometheus.yml');
    const provider = read('grafana/provisioning/dashboards/ragedge.yml');
    const dashboard = JSON.parse(read('grafana/dashboards/ragedge.json')) as {
      uid: string;
      panels: Array<{ type: string; datasource?: { uid: string } }>;
    };
    const uid = /^\s+uid: (\S+)$/m.exec(datasource)?.[1];
    expect(uid).toBe('ragedge-prometheus');
    expect(datasource).toMatch(/^\s+url: http:\/\/prometheus:9090$/m);
    const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(15);
    for (const panel of panels) expect(panel.datasource?.uid).toBe(uid);
    expect(provider).toMatch(/^\s+path: \/var\/lib\/grafana\/dashboards$/m);
  });
});
