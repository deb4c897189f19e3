/**
 * `--cert-mode self`: Outrigger keeps its own CA and serving certificate, writes the CA into the
 * webhook configuration's caBundle, renews before expiry, and puts a hand-edited caBundle back.
 * Two Secrets: the serving one (certificate, key, trusted CA certificates) that every replica reads
 * and hands to the server, which swaps it in without dropping connections; and the CA one (the CA's
 * private key, and the next CA's during a rotation) that only the elected replica reads and writes.
 * An install from before the split keeps the CA key in the serving Secret: the elected replica moves
 * it to the CA Secret, then rewrites the serving Secret without it.
 */
import { isObject, type JsonObject } from '../common/json.ts';
import { CA_NEXT_CREATED_ANNOTATION } from '../common/labels.ts';
import { pemCertificates } from '../tls/certs.ts';
import { type CertMaterial, DEFAULT_POLICY, plan, type RenewalPolicy } from '../tls/renewal.ts';
import { KubeApiError, type KubeClient } from './client.ts';

export interface ServingMaterial {
  certPem: string;
  keyPem: string;
  caBundle: string;
}

export interface SelfTlsOptions {
  namespace: string;
  /** The serving Secret, read by every replica. */
  secretName: string;
  /** The CA Secret, read and written by the elected replica only. */
  caSecretName: string;
  service: string;
  /** The MutatingWebhookConfiguration of the pods webhook; unset in policy mode, where no webhook mutates pods. */
  webhookConfig?: string;
  /**
   * A ValidatingWebhookConfiguration whose webhooks calling our Service get the caBundle too; none
   * when unset. Kept when it can be, unless it is the only one (policy mode): then it is required.
   */
  validatingWebhookConfig?: string;
  policy?: Partial<Omit<RenewalPolicy, 'dnsNames'>>;
  isLeader: () => boolean;
  onMaterial: (m: ServingMaterial) => void;
  /** After each caBundle check by the leader: true when it is wrong and could not be fixed, no webhook calls our Service, or the configuration cannot be read. */
  onCaBundleMismatch?: (mismatch: boolean) => void;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
  intervalMs?: number;
  now?: () => Date;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined);

const dataOf = (secret: JsonObject | undefined): JsonObject | undefined => (secret && isObject(secret.data) ? secret.data : undefined);
const CA_KEYS = ['ca.key', 'ca-next.crt', 'ca-next.key'];

/** The serving Secret still holds the CA key: the layout from before the CA Secret existed. */
export function holdsCaKey(serving: JsonObject | undefined): boolean {
  const data = dataOf(serving);
  return data !== undefined && CA_KEYS.some((k) => Object.hasOwn(data, k));
}

/**
 * The whole material from the serving Secret and the CA Secret. A serving Secret that still holds
 * the CA key wins: it is the layout to migrate, or was written since by a replica of the version
 * before the split, and either way it signed what is served.
 */
export function readMaterial(serving: JsonObject | undefined, ca: JsonObject | undefined): CertMaterial | undefined {
  const leaf = dataOf(serving);
  const caSecret = holdsCaKey(serving) ? serving : ca;
  const caData = dataOf(caSecret);
  if (!leaf || !caData) return undefined;
  const [cert, key, bundle] = ['tls.crt', 'tls.key', 'ca-bundle.crt'].map((k) => unb64(leaf[k]));
  const [caCert, caKey, nextCert, nextKey] = ['ca.crt', 'ca.key', 'ca-next.crt', 'ca-next.key'].map((k) => unb64(caData[k]));
  if (!caCert || !caKey || !cert || !key) return undefined;
  const ann = isObject(caSecret?.metadata) && isObject(caSecret.metadata.annotations) ? caSecret.metadata.annotations : {};
  const createdAt = typeof ann[CA_NEXT_CREATED_ANNOTATION] === 'string' ? ann[CA_NEXT_CREATED_ANNOTATION] : new Date(0).toISOString();
  return {
    caCert,
    caKey,
    cert,
    key,
    bundle: bundle ? pemCertificates(bundle) : [caCert],
    ...(nextCert && nextKey ? { next: { cert: nextCert, key: nextKey, createdAt } } : {}),
  };
}

/** What every replica needs from the serving Secret: the pair and the trusted bundle. */
export function readServing(serving: JsonObject | undefined): ServingMaterial | undefined {
  const data = dataOf(serving);
  const [cert, key, caCert, bundle] = ['tls.crt', 'tls.key', 'ca.crt', 'ca-bundle.crt'].map((k) => unb64(data?.[k]));
  if (!cert || !key) return undefined;
  return { certPem: cert, keyPem: key, caBundle: bundle ?? caCert ?? '' };
}

function secretFor(name: string, namespace: string, type: string, data: JsonObject, previous?: JsonObject, annotate?: (a: JsonObject) => void): JsonObject {
  const meta = isObject(previous?.metadata) ? previous.metadata : {};
  const annotations = { ...(isObject(meta.annotations) ? meta.annotations : {}) };
  annotate?.(annotations);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...meta, name, namespace, annotations, labels: { 'app.kubernetes.io/name': 'outrigger' } },
    type,
    data,
  };
}

/** The serving Secret: no private key but the serving certificate's. */
function servingSecret(name: string, namespace: string, m: CertMaterial, previous?: JsonObject): JsonObject {
  const data = { 'tls.crt': b64(m.cert), 'tls.key': b64(m.key), 'ca.crt': b64(m.caCert), 'ca-bundle.crt': b64(m.bundle.join('')) };
  return secretFor(name, namespace, 'kubernetes.io/tls', data, previous, (a) => delete a[CA_NEXT_CREATED_ANNOTATION]);
}

/** The CA Secret: the keys that sign serving certificates. */
function caSecret(name: string, namespace: string, m: CertMaterial, previous?: JsonObject): JsonObject {
  const data = {
    'ca.crt': b64(m.caCert),
    'ca.key': b64(m.caKey),
    ...(m.next ? { 'ca-next.crt': b64(m.next.cert), 'ca-next.key': b64(m.next.key) } : {}),
  };
  return secretFor(name, namespace, 'Opaque', data, previous, (a) => {
    if (m.next) a[CA_NEXT_CREATED_ANNOTATION] = m.next.createdAt;
    else delete a[CA_NEXT_CREATED_ANNOTATION];
  });
}

export class SelfManagedTls {
  readonly #client: KubeClient;
  readonly #o: SelfTlsOptions;
  readonly #policy: RenewalPolicy;
  #timer: NodeJS.Timeout | undefined;
  #delivered = '';
  #stopped = false;
  #round: Promise<void> = Promise.resolve();

  constructor(client: KubeClient, opts: SelfTlsOptions) {
    this.#client = client;
    this.#o = opts;
    const { service: s, namespace: ns } = opts;
    this.#policy = { ...DEFAULT_POLICY, ...opts.policy, dnsNames: [s, `${s}.${ns}`, `${s}.${ns}.svc`, `${s}.${ns}.svc.cluster.local`] };
  }

  get #secretPath(): string {
    return `/api/v1/namespaces/${this.#o.namespace}/secrets`;
  }

  /** The webhook configurations whose caBundle this keeps: the mutating one, and the validating one if named; the first is required. */
  get #webhookPaths(): string[] {
    const base = '/apis/admissionregistration.k8s.io/v1';
    const { webhookConfig, validatingWebhookConfig } = this.#o;
    return [
      ...(webhookConfig ? [`${base}/mutatingwebhookconfigurations/${webhookConfig}`] : []),
      ...(validatingWebhookConfig ? [`${base}/validatingwebhookconfigurations/${validatingWebhookConfig}`] : []),
    ];
  }

  start(): void {
    const loop = () => {
      if (this.#stopped) return;
      this.#round = this.syncOnce()
        .catch((e: Error) => this.#o.log?.('warn', 'certificate sync failed; retrying', { error: e.message }))
        .finally(() => {
          // Until material exists, look again quickly: the server is not ready without it.
          if (!this.#stopped) this.#timer = setTimeout(loop, this.#delivered ? (this.#o.intervalMs ?? 10_000) : 1000);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
  }

  async #getSecret(name: string): Promise<JsonObject | undefined> {
    try {
      return await this.#client.request('GET', `${this.#secretPath}/${name}`);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** Creates or replaces a Secret; false when another writer got there first (409, or 404 on a replace). */
  async #putSecret(name: string, body: JsonObject, exists: boolean): Promise<JsonObject | false> {
    try {
      return exists
        ? await this.#client.request('PUT', `${this.#secretPath}/${name}`, { body })
        : await this.#client.request('POST', this.#secretPath, { body });
    } catch (e) {
      if (e instanceof KubeApiError && (e.status === 409 || e.status === 404)) return false;
      throw e;
    }
  }

  /** One round: (leader) plan, write the Secrets, fix the caBundle; (everyone) deliver new material. */
  async syncOnce(): Promise<void> {
    let secret = await this.#getSecret(this.#o.secretName);
    if (this.#o.isLeader()) {
      const written = await this.#lead(secret);
      if (written === false) return; // another writer: read theirs next round
      secret = written;
    }
    const m = readServing(secret);
    if (!m) return;
    const fingerprint = m.certPem + m.keyPem;
    if (fingerprint !== this.#delivered) {
      this.#delivered = fingerprint;
      this.#o.onMaterial(m);
    }
  }

  /** The elected replica's part: the serving Secret as it stands after this round, or false if a write lost a race. */
  async #lead(serving: JsonObject | undefined): Promise<JsonObject | undefined | false> {
    const { namespace, secretName, caSecretName } = this.#o;
    const ca = await this.#getSecret(caSecretName);
    type Config = { path: string; ours: { h: JsonObject; index: number }[] };
    const read = async (path: string): Promise<Config> => {
      const config = await this.#client.request('GET', path);
      const hooks = (Array.isArray(config.webhooks) ? config.webhooks : []).filter(isObject).map((h, index) => ({ h, index }));
      return { path, ours: hooks.filter(({ h }) => this.#isOurs(h)) };
    };
    // The pods webhook's configuration is required; the warnings-only one (failurePolicy Ignore) is
    // kept when it can be, but a missing or forbidden one must never hold up the certificates the
    // fail-closed webhook is served with. In policy mode there is no pods webhook: the warnings-only
    // one is then the one whose caBundle decides when a new CA is trusted, so it is required.
    const [requiredPath = '', ...optionalPaths] = this.#webhookPaths;
    let mismatch = false;
    const skipOptional = (path: string, e: unknown) => {
      mismatch = true;
      this.#o.log?.('warn', 'webhook configuration caBundle not kept', { path, error: e instanceof Error ? e.message : String(e) });
    };
    const configs: Config[] = [];
    try {
      configs.push(await read(requiredPath));
    } catch (e) {
      // Not readable (deleted, or RBAC): the caBundle cannot be checked, let alone kept.
      this.#o.onCaBundleMismatch?.(true);
      throw e;
    }
    for (const path of optionalPaths) {
      try {
        configs.push(await read(path));
      } catch (e) {
        skipOptional(path, e);
      }
    }
    // A CA counts as trusted only once every webhook calling us, in every configuration read, has it.
    const trusted = configs.flatMap(({ ours }) => ours.map(({ h }) => unb64((isObject(h.clientConfig) ? h.clientConfig : {}).caBundle) ?? ''));
    const p = plan(
      readMaterial(serving, ca),
      this.#policy,
      this.#o.now?.() ?? new Date(),
      (pem) => trusted.length > 0 && trusted.every((t) => t.includes(pem.trim())),
    );
    // The caBundle first, then the Secrets: every replica serves what the serving Secret holds, so
    // the API server must already trust it by the time any replica can read it.
    const bundle = p.material.bundle.join('');
    for (const [i, { path, ours }] of configs.entries()) {
      try {
        await this.#ensureCaBundle(path, ours, bundle);
      } catch (e) {
        if (i > 0) {
          skipOptional(path, e);
          continue;
        }
        this.#o.onCaBundleMismatch?.(true);
        throw e;
      }
    }
    // A configuration with no webhook calling our Service is one the API server cannot reach us through.
    this.#o.onCaBundleMismatch?.(mismatch || configs.some(({ ours }) => ours.length === 0));
    const migrate = holdsCaKey(serving);
    if (p.reasons.length === 0 && !migrate) return serving;
    // The CA Secret before the serving one: once the serving Secret drops the CA key, the key must already be kept.
    const caWritten = await this.#putSecret(caSecretName, caSecret(caSecretName, namespace, p.material, ca), ca !== undefined);
    if (caWritten === false) return false;
    const written = await this.#putSecret(secretName, servingSecret(secretName, namespace, p.material, serving), serving !== undefined);
    if (written === false) return false;
    const reasons = [...p.reasons, ...(migrate ? [`moved the CA key to Secret ${namespace}/${caSecretName}`] : [])];
    this.#o.log?.('info', 'certificates updated', { reasons, secret: `${namespace}/${secretName}`, caSecret: `${namespace}/${caSecretName}` });
    return written;
  }

  #isOurs(h: JsonObject): boolean {
    const cc = isObject(h.clientConfig) ? h.clientConfig : {};
    const svc = isObject(cc.service) ? cc.service : undefined;
    return svc !== undefined && svc.name === this.#o.service && svc.namespace === this.#o.namespace;
  }

  /**
   * Patches only webhooks that call our Service. Each change is guarded by `test` ops on the
   * webhook's name and on the caBundle read, so a reordered list or a concurrent writer makes the
   * patch fail instead of clobbering it.
   */
  async #ensureCaBundle(path: string, ours: { h: JsonObject; index: number }[], bundle: string): Promise<void> {
    const want = b64(bundle);
    const ops: JsonObject[] = [];
    for (const { h, index } of ours) {
      const cc = isObject(h.clientConfig) ? h.clientConfig : {};
      if (cc.caBundle === want) continue;
      ops.push({ op: 'test', path: `/webhooks/${index}/name`, value: h.name as string });
      if (typeof cc.caBundle === 'string') ops.push({ op: 'test', path: `/webhooks/${index}/clientConfig/caBundle`, value: cc.caBundle });
      ops.push({ op: cc.caBundle === undefined ? 'add' : 'replace', path: `/webhooks/${index}/clientConfig/caBundle`, value: want });
    }
    if (ops.length === 0) return;
    await this.#client.request('PATCH', path, { body: ops as unknown as JsonObject, contentType: 'application/json-patch+json' });
    this.#o.log?.('info', 'caBundle written to the webhook configuration', { webhookConfig: path.slice(path.lastIndexOf('/', path.lastIndexOf('/') - 1) + 1) });
  }
}
