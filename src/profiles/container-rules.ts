/**
 * Rules the API server applies to a container across its fields, which a schema cannot say. A
 * profile that breaks one would fail every injection with a 422 from the API server (or be refused
 * by the engine as `invalid-result`): here it is a load error naming the field.
 */
import { isObject, type JsonObject, type JsonValue } from '../common/json.ts';
import { parseQuantity } from '../engine/index.ts';
import { type FieldError, join } from './field-path.ts';

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];
const LIFECYCLE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'sleep'];

const list = (v: JsonValue | undefined): JsonValue[] => (Array.isArray(v) ? v : []);
const words = (l: readonly string[]) => `${l.slice(0, -1).join(', ')} or ${l.at(-1)}`;

export function checkContainerRules(spec: JsonObject, errors: FieldError[]): void {
  for (const part of ['containers', 'initContainers'] as const) {
    list(spec[part]).forEach((c, i) => {
      if (!isObject(c)) return;
      const at = `spec.${part}[${i}]`;
      // Sidecars go in as native sidecars or as app containers, both of which may have probes and
      // lifecycle hooks; a run-once init container may not.
      const runOnce = part === 'initContainers' && c.restartPolicy !== 'Always';
      if (runOnce) {
        for (const f of [...PROBES, 'lifecycle']) {
          if (c[f] !== undefined && c[f] !== null)
            errors.push({ path: `${at}.${f}`, message: 'is only allowed on init containers with restartPolicy "Always" (native sidecars)' });
        }
      }
      for (const probe of PROBES) checkProbe(c[probe], probe, `${at}.${probe}`, errors);
      if (isObject(c.lifecycle)) {
        for (const hook of ['postStart', 'preStop']) {
          const h = c.lifecycle[hook];
          if (isObject(h)) checkHandler(h, LIFECYCLE_HANDLERS, `${at}.lifecycle.${hook}`, errors);
        }
      }
      checkResources(c.resources, `${at}.resources`, errors);
      checkPortNames(c.ports, `${at}.ports`, errors);
    });
  }
}

function checkHandler(h: JsonObject, handlers: readonly string[], at: string, errors: FieldError[]): void {
  const set = handlers.filter((k) => h[k] !== undefined && h[k] !== null);
  if (set.length === 0) errors.push({ path: at, message: `must have a handler: one of ${words(handlers)}` });
  if (set.length > 1) errors.push({ path: at, message: `must have exactly one handler, not ${words(set).replace(/ or ([^ ]+)$/, ' and $1')}` });
}

function checkProbe(p: JsonValue | undefined, probe: (typeof PROBES)[number], at: string, errors: FieldError[]): void {
  if (!isObject(p)) return;
  checkHandler(p, PROBE_HANDLERS, at, errors);
  if (probe !== 'readinessProbe' && p.successThreshold !== undefined && p.successThreshold !== null && p.successThreshold !== 1)
    errors.push({ path: `${at}.successThreshold`, message: `must be 1 for a ${probe}, not ${JSON.stringify(p.successThreshold)}` });
  if (probe === 'readinessProbe' && p.terminationGracePeriodSeconds !== undefined && p.terminationGracePeriodSeconds !== null)
    errors.push({ path: `${at}.terminationGracePeriodSeconds`, message: 'must not be set for a readinessProbe' });
}

/** A quantity's value, or undefined when it is not one (reported by the schema) or is rendered later. */
function quantity(v: JsonValue | undefined): bigint | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return parseQuantity(String(v));
  return typeof v === 'string' && !v.includes('{{') ? parseQuantity(v) : undefined;
}

function checkResources(r: JsonValue | undefined, at: string, errors: FieldError[]): void {
  if (!isObject(r) || !isObject(r.requests) || !isObject(r.limits)) return;
  for (const [name, req] of Object.entries(r.requests)) {
    const lim = r.limits[name];
    const rq = quantity(req);
    const lq = quantity(lim);
    if (rq !== undefined && lq !== undefined && rq > lq)
      errors.push({
        path: join(`${at}.requests`, name),
        message: `${JSON.stringify(req)} must not be greater than ${join(`${at}.limits`, name)} (${JSON.stringify(lim)})`,
      });
  }
}

function checkPortNames(ports: JsonValue | undefined, at: string, errors: FieldError[]): void {
  const seen = new Map<string, number>();
  list(ports).forEach((p, j) => {
    if (!isObject(p) || typeof p.name !== 'string') return;
    const first = seen.get(p.name);
    if (first !== undefined) errors.push({ path: `${at}[${j}].name`, message: `${JSON.stringify(p.name)} is already used by ${at}[${first}]` });
    else seen.set(p.name, j);
  });
}
