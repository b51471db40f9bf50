import { AGENT_ADDRESSES } from './constants';

/**
 * The `NO_PROXY` value a workload behind a proxy needs so that its Pod Identity credential
 * requests reach the agent, not the proxy: the existing entries, then the agent's addresses
 * that are missing.
 */
export function noProxyValue(existing: string = ''): string {
  const entries = existing.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  return [...entries, ...AGENT_ADDRESSES.filter((a) => !entries.includes(a))].join(',');
}
