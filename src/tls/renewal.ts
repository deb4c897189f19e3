/**
 * When to make, renew or rotate Outrigger's own CA and serving certificate. Pure (time is an
 * input), so the policy is tested without waiting: the leaf is renewed once a third of its life is
 * left; a CA nearing its end is rotated in two steps — first added to the trusted bundle, and only
 * after the webhook configuration carries it is it used to sign — so the API server never sees a
 * certificate it does not trust yet.
 */
import { CLOCK_SKEW_MS, certificateInfo, generateCA, generateServingCert, verifiesWith } from './certs.ts';

export interface CertMaterial {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
  /** PEM certificates the API server should trust (the caBundle): current CA first. */
  bundle: string[];
  /** A CA being introduced; signs nothing until promoted. */
  next?: { cert: string; key: string; createdAt: string };
}

export interface RenewalPolicy {
  /** DNS names the serving certificate must carry (`svc`, `svc.ns`, `svc.ns.svc`, ...). */
  dnsNames: string[];
  leafValiditySeconds: number;
  caValidityDays: number;
  /** Renew when less than this fraction of the lifetime is left. */
  renewFraction: number;
  /** How long a new CA sits in the bundle before it signs. */
  caPropagationMs: number;
}

export const DEFAULT_POLICY: Omit<RenewalPolicy, 'dnsNames'> = {
  leafValiditySeconds: 90 * 24 * 3600,
  caValidityDays: 3650,
  renewFraction: 1 / 3,
  caPropagationMs: 5 * 60 * 1000,
};

export interface RenewalPlan {
  material: CertMaterial;
  /** Empty when nothing changed. */
  reasons: string[];
}

/**
 * Life left, as a fraction of the life from issue. Every certificate here was made by generateCA or
 * generateServingCert, which backdate notBefore by CLOCK_SKEW_MS: counted in, that backdating made
 * a short-lived certificate (--cert-validity 45s: 45 s of 345) look nearly spent at once, so it was
 * renewed on every look.
 */
function remainingFraction(pem: string, now: Date): number {
  const info = certificateInfo(pem);
  const life = info.notAfter.getTime() - info.notBefore.getTime() - CLOCK_SKEW_MS;
  return life <= 0 ? 0 : (info.notAfter.getTime() - now.getTime()) / life;
}

function usable(pem: string | undefined, now: Date): boolean {
  if (!pem) return false;
  try {
    const info = certificateInfo(pem);
    return info.notAfter.getTime() > now.getTime();
  } catch {
    return false;
  }
}

function freshLeaf(ca: { certPem: string; keyPem: string }, p: RenewalPolicy, now: Date) {
  return generateServingCert({ ca, commonName: 'outrigger-webhook', dnsNames: p.dnsNames, validitySeconds: p.leafValiditySeconds, now });
}

/**
 * @param webhookTrusts whether the webhook configuration's caBundle already contains a given CA PEM.
 * @example plan(undefined, policy, new Date(), () => false).reasons // ['created a new CA and serving certificate']
 */
export function plan(current: CertMaterial | undefined, p: RenewalPolicy, now: Date, webhookTrusts: (caPem: string) => boolean): RenewalPlan {
  if (!current || !usable(current.caCert, now) || !verifiesWith(current.caCert, current.caCert, now)) {
    const ca = generateCA({ commonName: 'outrigger-ca', validityDays: p.caValidityDays, now });
    const leaf = freshLeaf(ca, p, now);
    const stillTrusted = (current?.bundle ?? []).filter((pem) => pem !== ca.certPem && usable(pem, now));
    return {
      material: { caCert: ca.certPem, caKey: ca.keyPem, cert: leaf.certPem, key: leaf.keyPem, bundle: [ca.certPem, ...stillTrusted] },
      reasons: [current ? 'the CA was missing, expired or unreadable: created a new CA and serving certificate' : 'created a new CA and serving certificate'],
    };
  }
  const reasons: string[] = [];
  let { caCert, caKey, cert, key, next } = current;
  let newLeaf = false;

  if (remainingFraction(caCert, now) < p.renewFraction) {
    if (!next) {
      const n = generateCA({ commonName: 'outrigger-ca', validityDays: p.caValidityDays, now });
      next = { cert: n.certPem, key: n.keyPem, createdAt: now.toISOString() };
      reasons.push('the CA nears its end: added a new CA to the trusted bundle');
    } else if (now.getTime() - Date.parse(next.createdAt) >= p.caPropagationMs && webhookTrusts(next.cert)) {
      caCert = next.cert;
      caKey = next.key;
      next = undefined;
      newLeaf = true;
      reasons.push('rotated to the new CA');
    }
  }

  const names = new Set(usable(cert, now) ? certificateInfo(cert).dnsNames : []);
  if (newLeaf || !verifiesWith(cert, caCert, now) || remainingFraction(cert, now) < p.renewFraction || !p.dnsNames.every((n) => names.has(n))) {
    const leaf = freshLeaf({ certPem: caCert, keyPem: caKey }, p, now);
    cert = leaf.certPem;
    key = leaf.keyPem;
    if (!newLeaf) reasons.push('renewed the serving certificate');
  }

  const bundle = [...new Set([caCert, ...(next ? [next.cert] : []), ...current.bundle.filter((pem) => usable(pem, now))])];
  const material: CertMaterial = { caCert, caKey, cert, key, bundle, ...(next ? { next } : {}) };
  if (bundle.join('') !== current.bundle.join('') && reasons.length === 0) reasons.push('dropped expired CAs from the trusted bundle');
  return { material, reasons };
}
