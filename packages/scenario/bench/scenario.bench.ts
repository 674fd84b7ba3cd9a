/**
 * Scenario runs: the shipped demo on the default virt board (boot, 26 steps, audit), and the
 * steps alone (boot and audit outside the timed region).
 */
import type { BenchContext } from '../../../scripts/bench-api.js';
import { exampleScenario, parseScenario, runScenario, start } from '../src/index.js';

export default async function scenarioBench(bench: BenchContext): Promise<void> {
  const demo = parseScenario(exampleScenario('demo')!.yaml);
  await bench.measure({
    name: 'runScenario(demo): boot + 26 steps + audit',
    inputSize: 'virt 1 GiB',
    unit: 'ms',
    better: 'lower',
    run: () => {
      const t = performance.now();
      runScenario(demo);
      return performance.now() - t;
    },
  });
  await bench.measure({
    name: 'demo steps only (stepper)',
    inputSize: '26 steps',
    unit: 'ms',
    better: 'lower',
    run: () => {
      const st = start(demo);
      const t = performance.now();
      while (!st.done) st.step();
      return performance.now() - t;
    },
  });
  await bench.measure({
    name: 'parseScenario(demo YAML)',
    inputSize: `${exampleScenario('demo')!.yaml.length} chars`,
    unit: 'ms',
    better: 'lower',
    repeat: 5,
    run: () => {
      const t = performance.now();
      for (let i = 0; i < 100; i++) parseScenario(exampleScenario('demo')!.yaml);
      return (performance.now() - t) / 100;
    },
  });
}
