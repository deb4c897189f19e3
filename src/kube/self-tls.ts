/**
 * `--cert-mode self`: Outrigger keeps its own CA and serving certificate in a Secret, writes the CA
 * into the webhook configuration's caBundle, renews before expiry, and puts a hand-edited caBundle
 * back. Only the elected replica writes; every replica reads the Secret and hands new material to
 * the server, which swaps it in without dropping connections.
 */
import { isObject, type JsonObject } from '../engine/json.ts';
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
  secretName: string;
  service: string;
  webhookConfig: string;
  policy?: Partial<Omit<RenewalPolicy, 'dnsNames'>>;
  isLeader: () => boolean;
  onMaterial: (m: ServingMaterial) => void;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
  intervalMs?: number;
  now?: () => Date;
}

const NEXT_CREATED = 'outrigger.dev/ca-next-created';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined);

export function readMaterial(secret: JsonObject | undefined): CertMaterial | undefined {
  const data = secret && isObject(secret.data) ? secret.data : undefined;
  if (!data) return undefined;
  const [caCert, caKey, cert, key, bundle] = ['ca.crt', 'ca.key', 'tls.crt', 'tls.key', 'ca-bundle.crt'].map((k) => unb64(data[k]));
  if (!caCert || !caKey || !cert || !key) return undefined;
  const nextCert = unb64(data['ca-next.crt']);
  const nextKey = unb64(data['ca-next.key']);
  const ann = isObject(secret?.metadata) && isObject(secret.metadata.annotations) ? secret.metadata.annotations : {};
  const createdAt = typeof ann[NEXT_CREATED] === 'string' ? ann[NEXT_CREATED] : new Date(0).toISOString();
  return {
    caCert,
    caKey,
    cert,
    key,
    bundle: bundle ? pemCertificates(bundle) : [caCert],
    ...(nextCert && nextKey ? { next: { cert: nextCert, key: nextKey, createdAt } } : {}),
  };
}

function secretFor(name: string, namespace: string, m: CertMaterial, previous?: JsonObject): JsonObject {
  const meta = isObject(previous?.metadata) ? previous.metadata : {};
  const annotations = { ...(isObject(meta.annotations) ? meta.annotations : {}) };
  if (m.next) annotations[NEXT_CREATED] = m.next.createdAt;
  else delete annotations[NEXT_CREATED];
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...meta, name, namespace, annotations, labels: { 'app.kubernetes.io/name': 'outrigger' } },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': b64(m.cert),
      'tls.key': b64(m.key),
      'ca.crt': b64(m.caCert),
      'ca.key': b64(m.caKey),
      'ca-bundle.crt': b64(m.bundle.join('')),
      ...(m.next ? { 'ca-next.crt': b64(m.next.cert), 'ca-next.key': b64(m.next.key) } : {}),
    },
  };
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

  get #webhookPath(): string {
    return `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${this.#o.webhookConfig}`;
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

  async #getSecret(): Promise<JsonObject | undefined> {
    try {
      return await this.#client.request('GET', `${this.#secretPath}/${this.#o.secretName}`);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** One round: (leader) plan, write the Secret, fix the caBundle; (everyone) deliver new material. */
  async syncOnce(): Promise<void> {
    let secret = await this.#getSecret();
    if (this.#o.isLeader()) {
      const webhook = await this.#client.request('GET', this.#webhookPath);
      const hooks = (Array.isArray(webhook.webhooks) ? webhook.webhooks : []).filter(isObject).map((h, index) => ({ h, index }));
      const ours = hooks.filter(({ h }) => this.#isOurs(h));
      const trusted = ours.map(({ h }) => unb64((isObject(h.clientConfig) ? h.clientConfig : {}).caBundle) ?? '');
      const p = plan(
        readMaterial(secret),
        this.#policy,
        this.#o.now?.() ?? new Date(),
        (pem) => trusted.length > 0 && trusted.every((t) => t.includes(pem.trim())),
      );
      // The caBundle first, then the Secret: every replica serves what the Secret holds, so the API
      // server must already trust it by the time any replica can read it.
      await this.#ensureCaBundle(ours, p.material.bundle.join(''));
      if (p.reasons.length > 0) {
        const body = secretFor(this.#o.secretName, this.#o.namespace, p.material, secret);
        try {
          secret = secret
            ? await this.#client.request('PUT', `${this.#secretPath}/${this.#o.secretName}`, { body })
            : await this.#client.request('POST', this.#secretPath, { body });
          this.#o.log?.('info', 'certificates updated', { reasons: p.reasons, secret: `${this.#o.namespace}/${this.#o.secretName}` });
        } catch (e) {
          // Another writer got there first (409): read theirs next round; the caBundle follows then.
          if (e instanceof KubeApiError && (e.status === 409 || e.status === 404)) return;
          throw e;
        }
      }
    }
    const m = readMaterial(secret);
    if (!m) return;
    const fingerprint = m.cert + m.key;
    if (fingerprint !== this.#delivered) {
      this.#delivered = fingerprint;
      this.#o.onMaterial({ certPem: m.cert, keyPem: m.key, caBundle: m.bundle.join('') });
    }
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
  async #ensureCaBundle(ours: { h: JsonObject; index: number }[], bundle: string): Promise<void> {
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
    await this.#client.request('PATCH', this.#webhookPath, { body: ops as unknown as JsonObject, contentType: 'application/json-patch+json' });
    this.#o.log?.('info', 'caBundle written to the webhook configuration', { webhookConfig: this.#o.webhookConfig });
  }
}
