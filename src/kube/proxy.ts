/**
 * Which proxy, if any, carries the connection to the API server, decided as kubectl (Go's
 * httpproxy) decides it: the cluster's proxy-url always; else HTTPS_PROXY or HTTP_PROXY by the
 * server's scheme, except for loopback servers and those NO_PROXY names (hosts, domain suffixes,
 * IPs, CIDRs, `*`). Decided here once per client, because Node's own NO_PROXY matching knows no
 * CIDRs and proxies loopback: the agent gets the proxy, or none.
 */
import { BlockList, isIP } from 'node:net';

/** Upper or lower case, the first that is set and not empty (as Go reads them). */
function envVar(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return env[name] || env[name.toLowerCase()] || undefined;
}

function hostOf(server: URL): string {
  return server.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return isIP(host) === 6 && (host === '::1' || host === '0:0:0:0:0:0:0:1');
}

/** Whether one NO_PROXY entry names this server. */
function excludedBy(entry: string, host: string, port: string): boolean {
  if (entry === '*') return true;
  const slash = entry.indexOf('/');
  if (slash > 0) {
    const [net, bits] = [entry.slice(0, slash), Number(entry.slice(slash + 1))];
    const family = isIP(net);
    if (family === 0 || isIP(host) !== family || !Number.isInteger(bits)) return false;
    const list = new BlockList();
    try {
      list.addSubnet(net, bits, family === 4 ? 'ipv4' : 'ipv6');
    } catch {
      return false;
    }
    return list.check(host, family === 4 ? 'ipv4' : 'ipv6');
  }
  let name = entry;
  let entryPort: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) [name, entryPort] = [bracketed[1] as string, bracketed[2]];
  else if (isIP(entry) === 0 && /:\d+$/.test(entry)) [name, entryPort] = [entry.replace(/:\d+$/, ''), entry.slice(entry.lastIndexOf(':') + 1)];
  if (entryPort !== undefined && entryPort !== port) return false;
  if (isIP(name) !== 0 || isIP(host) !== 0) return name === host;
  if (name.startsWith('*.')) name = name.slice(1);
  if (name.startsWith('.')) return host.endsWith(name);
  return host === name || host.endsWith(`.${name}`);
}

/** The proxy URL for connections to `server`, or undefined to connect directly. */
export function proxyFor(server: string, proxyUrl: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (proxyUrl !== undefined) return proxyUrl;
  const url = new URL(server);
  const proxy = envVar(env, url.protocol === 'http:' ? 'HTTP_PROXY' : 'HTTPS_PROXY');
  if (proxy === undefined) return undefined;
  const host = hostOf(url);
  if (isLoopback(host)) return undefined;
  const port = url.port || (url.protocol === 'http:' ? '80' : '443');
  const noProxy = (envVar(env, 'NO_PROXY') ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  return noProxy.some((e) => excludedBy(e, host, port)) ? undefined : proxy;
}
