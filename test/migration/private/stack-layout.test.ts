import { deployOrder, StackLayout } from '../../../src/migration/private/stack-layout';

describe('StackLayout', () => {
  const layout = new StackLayout('PodIdentity', 'us-east-1');

  test('names depend only on the identity', () => {
    expect(layout.roles('111122223333', 1).stackName).toBe('PodIdentity-Roles-111122223333');
    expect(layout.roles('111122223333', 3)).toEqual({ scope: 'Roles', id: '111122223333-3', stackName: 'PodIdentity-Roles-111122223333-3', account: '111122223333', region: 'us-east-1' });
    expect(layout.cluster('arn:aws:eks:eu-west-1:111122223333:cluster/blue', 2)).toEqual({
      scope: 'Clusters', id: 'blue-111122223333-eu-west-1-2', stackName: 'PodIdentity-Cluster-blue-111122223333-eu-west-1-2', account: '111122223333', region: 'eu-west-1',
    });
  });

  test('a cluster name with characters stack names refuse, or too long, is kept unique by a hash of its ARN', () => {
    const underscore = layout.cluster('arn:aws:eks:us-east-1:111122223333:cluster/team_a', 1);
    const dash = layout.cluster('arn:aws:eks:us-east-1:111122223333:cluster/team-a', 1);
    expect(underscore.stackName).toMatch(/^PodIdentity-Cluster-team-a-111122223333-us-east-1-[0-9a-f]{8}$/);
    expect(underscore.stackName).not.toBe(dash.stackName);
    const long = layout.cluster(`arn:aws:eks:us-east-1:111122223333:cluster/${'x'.repeat(100)}`, 12);
    expect(long.stackName.length).toBeLessThanOrEqual(128);
  });

  test('a stack name over 128 characters fails, saying what to shorten', () => {
    expect(() => layout.wave('w'.repeat(100), '111122223333', 'us-east-1')).toThrow(/^stack name PodIdentity-Wave-w+-111122223333-us-east-1 is 140 characters, over CloudFormation's 128: choose a shorter stackPrefix or wave name\.$/);
  });
});

test('the deploy order of the scopes, written once (stack dependencies and pipeline stages both follow it): foundation, roles, associations, '
  + 'add-ons, the waves in plan order, the OIDC providers', () => {
  expect(deployOrder(['canary', 'wave2', 'wave1'])).toEqual(['Foundation', 'Roles', 'Clusters', 'Addons', 'canary', 'wave2', 'wave1', 'OidcProviders']);
  expect(deployOrder([])).toEqual(['Foundation', 'Roles', 'Clusters', 'Addons', 'OidcProviders']);
});
