import { DevenvError } from '../../errors.js';

/** The `{"errors":[{"code","message"}]}` body of a registry's error answer, as one short phrase; '' when none. */
export async function readRegistryErrorDetail(response: Response): Promise<string> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return '';
  }
  try {
    const body = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = body.errors?.[0];
    if (first) {
      const message = typeof first.message === 'string' && first.message !== '' ? first.message : undefined;
      const code = typeof first.code === 'string' ? first.code : undefined;
      return (message ?? code ?? '').slice(0, 200);
    }
  } catch {
    // not JSON: fall through
  }
  return '';
}

/** What the client knows when a request failed with an HTTP status. */
export interface StatusErrorContext {
  /** ``pull `debian:12` ``, ``push `127.0.0.1:5000/x:1` ``, optionally followed by the object (`: blob sha256:…`). */
  operation: string;
  /** The registry, for the `devenv login` hint. */
  registry: string;
  /** Whether credentials were sent. */
  authenticated: boolean;
  /** What a 404 means here: "manifest", "blob", "repository". */
  object: string;
}

/** Turn a final non-success answer into the DevenvError the user sees. */
export function registryStatusError(status: number, detail: string, context: StatusErrorContext): DevenvError {
  const answered = `registry answered ${status}${detail ? ` (${detail})` : ''}`;
  const message = `${context.operation}: ${answered}`;
  const login = `devenv login ${context.registry}`;
  if (status === 401 || status === 403) {
    return new DevenvError('REGISTRY_UNAUTHORIZED', message, {
      hint: context.authenticated
        ? `The credentials for ${context.registry} were not accepted for this; check the name and your access, or run \`${login}\` again.`
        : `Check the name; if the repository is private, run \`${login}\`.`,
    });
  }
  if (status === 404) {
    return new DevenvError('REGISTRY_NOT_FOUND', message, {
      hint: `The ${context.object} does not exist on ${context.registry}; check the name and tag.`,
    });
  }
  if (status === 429) {
    return new DevenvError('REGISTRY_UNAVAILABLE', message, {
      kind: 'external',
      hint: context.authenticated ? 'The registry is rate limiting; wait and try again.' : `The registry is rate limiting anonymous requests; wait, or run \`${login}\`.`,
    });
  }
  if (status >= 500) {
    return new DevenvError('REGISTRY_UNAVAILABLE', message, { kind: 'external', hint: 'The registry is failing; try again later.' });
  }
  return new DevenvError('REGISTRY_PROTOCOL', message, { kind: 'external' });
}

/** The registry could not be reached (after the retries). */
export function registryUnreachableError(operation: string, url: string, error: unknown): DevenvError {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? `: ${cause.code}` : typeof (error as { code?: unknown })?.code === 'string' ? `: ${(error as { code: string }).code}` : '';
  return new DevenvError('REGISTRY_UNAVAILABLE', `${operation}: cannot reach ${new URL(url).host}${code}`, {
    kind: 'external',
    hint: 'Check the network connection and that the registry is up.',
    cause: error,
  });
}
