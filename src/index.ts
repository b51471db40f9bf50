export * from './pod-identity-cluster';
export * from './pod-identity-agent-addon';
export * from './migration-phase';
export * from './service-account-ref';
export * from './dual-trust-role';
export * from './pod-identity-binding';
export * from './namespace-scoped-policy';
export * from './cross-account-pod-role';
