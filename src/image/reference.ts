import { DevenvError } from '../errors.js';
import type { ImageReference } from './types.js';

/*
 * Docker's reference grammar (distribution/reference):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component [ "/" path-component ]*
 *   domain     := host [ ":" port ]            host: domain name, IPv4, or "[" IPv6 "]"
 *   path-component := [a-z0-9]+ ( separator [a-z0-9]+ )*      separator: "." "_" "__" or one or more "-"
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := "sha256:" 64 lowercase hex digits   (the only algorithm devenv accepts)
 *
 * The first component is a registry when it contains "." or ":", is "localhost", or has an upper-case letter.
 */

/** The registry used when a reference names none. */
export const DEFAULT_REGISTRY = 'docker.io';
/** The tag used when a reference names neither tag nor digest. */
export const DEFAULT_TAG = 'latest';

const NAME_MAX_LENGTH = 255;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HEX64 = /^[a-f0-9]{64}$/;

/** True for `sha256:` followed by 64 lowercase hex digits. */
export function isSha256Digest(text: string): boolean {
  return SHA256_DIGEST.test(text);
}

function invalid(text: string, why: string): DevenvError {
  return new DevenvError('IMAGE_REFERENCE_INVALID', `invalid image reference \`${text}\`: ${why}`, {
    hint: 'Write it as [registry/]repository[:tag][@sha256:digest], for example `debian:bookworm` or `ghcr.io/owner/app:1.0`.',
  });
}

function isRegistryComponent(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component !== component.toLowerCase();
}

function checkDigest(text: string, digest: string): void {
  if (digest === '') throw invalid(text, 'the digest after `@` is empty');
  if (SHA256_DIGEST.test(digest)) return;
  if (digest.startsWith('sha256:')) throw invalid(text, `digest \`${digest}\` must be \`sha256:\` followed by 64 lowercase hex digits`);
  if (ANY_DIGEST.test(digest)) throw invalid(text, `digest \`${digest}\` uses an unsupported algorithm (only sha256 is supported)`);
  throw invalid(text, `digest \`${digest}\` is not of the form sha256:<64 hex digits>`);
}

function checkTag(text: string, tag: string): void {
  if (tag === '') throw invalid(text, 'the tag after `:` is empty');
  if (!TAG.test(tag)) {
    throw invalid(text, `tag \`${tag}\` is invalid (letters, digits, \`_\`, \`.\` and \`-\`, not starting with \`.\` or \`-\`, at most 128 characters)`);
  }
}

function checkRepository(text: string, repository: string): void {
  if (repository !== repository.toLowerCase()) throw invalid(text, `repository name \`${repository}\` must be lowercase`);
  for (const component of repository.split('/')) {
    if (component === '') throw invalid(text, `repository name \`${repository}\` has an empty path component`);
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        text,
        `path component \`${component}\` is invalid (lowercase letters and digits, separated by \`.\`, \`_\`, \`__\` or dashes)`,
      );
    }
  }
}

/**
 * Parse and normalise a reference as Docker does: `debian` → docker.io/library/debian:latest, `user/app` →
 * docker.io/user/app:latest, `localhost:5000/x@sha256:…` keeps the digest and gets no tag, `x:1@sha256:…` keeps both.
 * Throws DevenvError('IMAGE_REFERENCE_INVALID') naming what is wrong.
 */
export function parseImageReference(text: string): ImageReference {
  if (text === '') throw invalid(text, 'it is empty');
  if (/\s/.test(text)) throw invalid(text, 'it contains whitespace');

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    checkDigest(text, digest);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    checkTag(text, tag);
  }

  const name = rest;
  if (name === '') throw invalid(text, 'the repository name is empty');
  if (name.length > NAME_MAX_LENGTH) throw invalid(text, `the name is longer than ${NAME_MAX_LENGTH} characters`);

  let registry = DEFAULT_REGISTRY;
  let repository = name;
  const slash = name.indexOf('/');
  if (slash >= 0 && isRegistryComponent(name.slice(0, slash))) {
    registry = name.slice(0, slash);
    repository = name.slice(slash + 1);
    if (!DOMAIN.test(registry)) throw invalid(text, `registry \`${registry}\` is not a valid host[:port]`);
  }
  if (repository === '') throw invalid(text, 'the repository name is empty');
  checkRepository(text, repository);

  if (registry === 'index.docker.io') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY) {
    if (slash < 0 && tag === undefined && digest === undefined && HEX64.test(repository)) {
      throw invalid(text, 'a 64-digit hexadecimal string is an image id, not a repository name');
    }
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;

  return { registry, repository, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** The full normalised form: `docker.io/library/debian:bookworm`, `127.0.0.1:5000/x:1@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** The short form people write: `docker.io/library/debian:bookworm` → `debian:bookworm`, `docker.io/user/app` → `user/app`. */
export function familiarName(ref: ImageReference): string {
  let name = `${ref.registry}/${ref.repository}`;
  if (ref.registry === DEFAULT_REGISTRY) {
    name = ref.repository;
    const short = name.slice('library/'.length);
    if (name.startsWith('library/') && !short.includes('/')) name = short;
  }
  return `${name}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}
