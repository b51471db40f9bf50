import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/** Where templates synthesized by the tests are kept for cfn-lint (run by pytest). */
export const TEMPLATE_DIR = path.join(__dirname, '..', '..', 'test-reports', 'cfn-templates');

/**
 * `Template.fromStack`, and the template is written to test-reports/cfn-templates so that every
 * template the tests synthesize is also checked by cfn-lint.
 */
export function templateOf(stack: Stack): Template {
  const template = Template.fromStack(stack);
  fs.mkdirSync(TEMPLATE_DIR, { recursive: true });
  const test = (expect.getState().currentTestName ?? 'template').replace(/[^A-Za-z0-9]+/g, '-').slice(0, 120);
  fs.writeFileSync(path.join(TEMPLATE_DIR, `${test}--${stack.stackName}.template.json`), JSON.stringify(template.toJSON(), null, 1));
  return template;
}
