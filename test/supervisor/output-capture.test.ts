/**
 * Agents' stdout/stderr in the gateway's log: one log line per agent line tagged with agentId and
 * stream, long lines cut at maxLineBytes, floods over maxLinesPerSecond dropped and counted.
 */
import { LogLines, fixtureAgent, startSupervised, waitUntil, type SupervisedGateway } from './harness';

describe('supervisor output capture', () => {
  let gw: SupervisedGateway;

  afterEach(async () => {
    await gw?.stop();
  });

  it('tags lines with agentId and stream, truncates long lines, drops and counts floods', async () => {
    const logs = new LogLines();
    gw = await startSupervised({
      logger: logs.logger,
      agents: [
        fixtureAgent('chatty', 'flood', {
          env: { LONG_LINE_BYTES: '5000', FLOOD_LINES: '3000' },
          logs: { maxLineBytes: 256, maxLinesPerSecond: 50 },
        }),
      ],
    });
    const fromAgent = () =>
      logs.lines.filter((line) => line.agentId === 'chatty-1' && (line.stream === 'stdout' || line.stream === 'stderr'));
    await waitUntil(
      () => logs.lines.some((line) => /output line\(s\) dropped/.test(String(line.msg))),
      'the dropped-lines warning',
      10_000,
    );

    const subscribed = fromAgent().find((line) => /^agent chatty-1 subscribed/.test(String(line.msg)))!;
    expect(subscribed).toMatchObject({ stream: 'stdout', plugin: 'supervisor', level: 30 });

    const long = fromAgent().find((line) => String(line.msg).startsWith('long:'))!;
    expect(long.truncated).toBe(true);
    expect(Buffer.byteLength(String(long.msg))).toBe(256);

    const flood = fromAgent().filter((line) => line.stream === 'stderr');
    expect(flood.length).toBeGreaterThan(0);
    expect(flood[0]).toMatchObject({ level: 40, msg: expect.stringMatching(/^flood line \d+$/) });
    // At most 50 lines per second reached the log; the rest were dropped.
    expect(fromAgent().length).toBeLessThan(3000);
    const text = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_managed_agent_log_lines_dropped_total');
    const dropped = Number(/openclaw_managed_agent_log_lines_dropped_total (\d+)/.exec(text)![1]);
    expect(dropped).toBeGreaterThan(0);
    const truncated = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_managed_agent_log_lines_truncated_total');
    expect(truncated).toContain('openclaw_managed_agent_log_lines_truncated_total 1');
  });
});
