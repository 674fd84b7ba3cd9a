import { runCli } from './src/run-cli.js';
const cases: string[][] = [[], ['frobnicate'], ['help', 'frobnicate'], ['decode', 'aarch64', '--levle', 'L2'], ['decode'], ['decode', 'aarch64', '0x1', '0x2'], ['decode', 'aarch64', '0x1', '--level'], ['boards', 'virt'], ['help', 'decode', 'extra'], ['decode', 'aarch64', '0x1', '--level', 'L2', '--level', 'L3'], ['decode','aarch64','0xZZ','--json'], ['run'], ['run','nope.yaml'], ['export','--demo'], ['export','--demo','-o','-','--process','init'], ['run', 'x', '--pid', '1', '--process', 'a']];
for (const argv of cases) {
  let out = '', err = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {} });
  console.log(JSON.stringify(argv), code, JSON.stringify(err), out.length);
}
