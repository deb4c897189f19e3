/**
 * The container image's name: `npm run image` tags what it builds with it, and the install bundle
 * (`outrigger manifests`, deploy/outrigger.yaml) runs it. One place, so the two cannot drift apart.
 */
import { VERSION } from '../version.ts';

export const IMAGE_REPOSITORY = 'ghcr.io/outrigger-dev/outrigger';
/** Where the source lives (the image's org.opencontainers.image.source). */
export const SOURCE_URL = 'https://github.com/outrigger-dev/outrigger';
/** The image is tagged with the package version. */
export const IMAGE_TAG: string = VERSION;
export const IMAGE: string = `${IMAGE_REPOSITORY}:${IMAGE_TAG}`;
