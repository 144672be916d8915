import type { TrafficView } from '../daemon/views.js';

const BAR_WIDTH = 30;

/** Draws the allocation as bars, with live counts since the daemon started. */
export function drawTraffic(view: TrafficView): string {
  const title = [`endpoint ${view.endpoint}  ${view.scoring_uri}`];
  if (view.problem) title.push(`warning: ${view.problem}`);
  if (view.deployments.length === 0) return `${title.join('\n')}\nno deployments yet\n`;
  const nameWidth = Math.max(10, ...view.deployments.map((row) => row.name.length));
  const header = `${'deployment'.padEnd(nameWidth)}  ${'traffic'.padEnd(BAR_WIDTH + 6)}  mirror  ready  requests  mirrored  in flight`;
  const lines = [...title, header];
  for (const row of view.deployments) {
    const filled = Math.round((row.traffic / 100) * BAR_WIDTH);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
    lines.push(
      [
        row.name.padEnd(nameWidth),
        `${String(row.traffic).padStart(3)}% ${bar}`,
        (row.mirror_traffic > 0 ? `${row.mirror_traffic}%` : '-').padStart(6),
        `${row.ready_replicas}/${row.instance_count}`.padStart(5),
        String(row.requests).padStart(8),
        String(row.mirrored).padStart(8),
        String(row.inflight).padStart(9),
      ].join('  '),
    );
  }
  for (const row of view.deployments) if (row.problem) lines.push(`warning: ${row.problem}`);
  return `${lines.join('\n')}\n`;
}
