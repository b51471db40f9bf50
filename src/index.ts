export * from './pod-identity-cluster';
export * from './pod-identity-agent-addon';
