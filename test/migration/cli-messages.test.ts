/**
 * The warnings an operator must act on reach the output of the real CDK CLI: `cdk synth` on the
 * cloud assembly prints the messages of the stacks it selects, never those of constructs outside
 * every stack (where a warning on the migration itself would be lost).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { demoState, placementCopy, synthNorthwind } from './northwind';
import { MigrationPhase as P } from '../../src';

const CDK = require.resolve('aws-cdk/bin/cdk');

/** What `cdk synth --app <assembly> <selector>` prints (the CLI reads the cloud assembly as it is). */
function cdkSynthMessages(assembly: string, selector: string): string {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cli-'));
  const result = spawnSync(process.execPath, [CDK, 'synth', '--app', assembly, selector, '--quiet', '--no-notices', '--no-version-reporting'], {
    cwd, env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CI: 'true' }, encoding: 'utf8',
  });
  expect([result.status, result.stderr]).toEqual([0, expect.any(String)]);
  return `${result.stdout}\n${result.stderr}`;
}

describe('warnings in the output of the real CDK CLI', () => {
  test('a phase given by context: on the wave\'s record stacks, which `cdk deploy \'<id>/<wave>/*\'` selects', () => {
    // GIVEN wave3 recorded at IRSA_ONLY, synthesized at DUAL_TRUST from context
    const { outdir } = synthNorthwind({ wave3: P.IRSA_ONLY }, {}, { 'pod-identity-migration:wave3': 'DUAL_TRUST' });
    // WHEN the operator synthesizes (or deploys) the wave with the real CLI
    const output = cdkSynthMessages(outdir, 'Northwind/wave3/*');
    // THEN the warning is printed, once per record stack of the wave
    const text = 'wave wave3 is synthesized at DUAL_TRUST from context pod-identity-migration:wave3, but the state records IRSA_ONLY: '
      + 'record the step in the state file, so that the next plain deploy does not undo it.';
    expect(output.split(text).length - 1).toBe(2);
    expect(output).toContain('Northwind/wave3/111122223333-us-east-1');
    expect(output).toContain('Northwind/wave3/111122223333-eu-west-1');
    // and another wave's deploy does not carry it
    expect(cdkSynthMessages(outdir, 'Northwind/wave1/*')).not.toContain(text);
  });

  test('the placement file changed: review and commit it, on the record stacks of the waves it recorded', () => {
    // GIVEN the demo's committed placement file, and wave3 stepped to DUAL_TRUST in the state
    const state = demoState();
    const stepped = { ...state, waves: { ...state.waves, wave3: [...state.waves!.wave3, { phase: P.DUAL_TRUST }] } };
    const placementFile = placementCopy();
    const { outdir } = synthNorthwind({}, { state: stepped, placementFile });
    // THEN the real CLI prints the placement warning for wave3's deploy, naming the file and what changed
    const output = cdkSynthMessages(outdir, 'Northwind/wave3/*');
    expect(output).toContain(`placement file ${placementFile} updated (0 resources placed, 0 service accounts recorded in a new wave, waves wave3 recorded): `
      + 'review and commit it with the change that caused it.');
    expect(JSON.parse(fs.readFileSync(placementFile, 'utf8')).waves.wave3).toBe(P.DUAL_TRUST);
    // and a synthesis that changes nothing says nothing
    const again = synthNorthwind({}, { state: stepped, placementFile });
    expect(cdkSynthMessages(again.outdir, 'Northwind/wave3/*')).not.toContain('placement file');
  });
});

