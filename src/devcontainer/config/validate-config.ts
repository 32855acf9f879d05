/**
 * Validation of a parsed devcontainer.json: one table of property → rule (the spec's JSON schema, written by hand),
 * then the few checks that span properties. Wrong types are errors; unknown properties are warnings.
 */
import type { DevContainerConfig } from './config-types.js';
import {
  anyBoolean,
  anyObject,
  anyOf,
  anyString,
  arrayOf,
  checkValue,
  integerIn,
  isPlainObject,
  jsonNull,
  mapOf,
  matching,
  oneOfValues,
  shapeOf,
  unknownPropertyMessage,
  type Rule,
  type RuleContext,
} from './config-rules.js';

const stringArray = arrayOf(anyString, 'an array of strings');
const stringOrStringArray = anyOf([anyString, stringArray], 'a string or an array of strings');
const lifecycleCommand = anyOf(
  [anyString, stringArray, mapOf(stringOrStringArray)],
  'a command string, an array of strings, or an object of named commands',
);
const port = integerIn(1, 65535, 'a port number from 1 to 65535');
const hostAndPort = matching(/^[a-z0-9-]+:(\d{1,5})$/, '"host:port"', (match) => Number(match[1]) >= 1 && Number(match[1]) <= 65535);
const portOrString = anyOf([port, anyString], 'a port number or a string');
const size = matching(/^\d+([tgmk]b)?$/, 'a size like "8gb" or "512mb"');
const portAttributes = shapeOf({
  label: anyString,
  protocol: oneOfValues(['http', 'https']),
  onAutoForward: oneOfValues(['notify', 'openBrowser', 'openBrowserOnce', 'openPreview', 'silent', 'ignore']),
  requireLocalPort: anyBoolean,
  elevateIfNeeded: anyBoolean,
});
const mountObject = shapeOf(
  { type: oneOfValues(['bind', 'volume', 'tmpfs']), source: anyString, target: anyString, readonly: anyBoolean },
  {
    required: ['type', 'target'],
    refine(mount, path, context) {
      if (mount.type === 'bind' && mount.source === undefined) context.fail(path, 'needs `source` (type `bind`)');
      if (mount.type === 'tmpfs' && mount.source !== undefined) context.fail(path, 'cannot have `source` (type `tmpfs`)');
    },
  },
);

/** Every property of DevContainerConfig and its rule (`satisfies` makes the compiler check none is missing). */
const CONFIG_RULES = {
  name: anyString,
  image: anyString,
  build: shapeOf({
    dockerfile: anyString,
    context: anyString,
    args: mapOf(anyString),
    target: anyString,
    cacheFrom: stringOrStringArray,
    options: stringArray,
  }),
  dockerFile: anyString,
  context: anyString,
  features: anyObject,
  overrideFeatureInstallOrder: stringArray,
  workspaceMount: anyString,
  workspaceFolder: anyString,
  mounts: arrayOf(anyOf([anyString, mountObject], 'a mount string or a mount object')),
  containerEnv: mapOf(anyString),
  remoteEnv: mapOf(anyOf([anyString, jsonNull], 'a string or null')),
  containerUser: anyString,
  remoteUser: anyString,
  updateRemoteUserUID: anyBoolean,
  userEnvProbe: oneOfValues(['none', 'interactiveShell', 'loginShell', 'loginInteractiveShell']),
  init: anyBoolean,
  privileged: anyBoolean,
  capAdd: stringArray,
  securityOpt: stringArray,
  overrideCommand: anyBoolean,
  shutdownAction: oneOfValues(['none', 'stopContainer']),
  hostRequirements: shapeOf({
    cpus: integerIn(1, Number.MAX_SAFE_INTEGER),
    memory: size,
    storage: size,
    gpu: anyOf(
      [oneOfValues([true, false, 'optional']), shapeOf({ cores: integerIn(1, Number.MAX_SAFE_INTEGER), memory: size })],
      '`true`, `false`, `"optional"` or an object',
    ),
  }),
  forwardPorts: arrayOf(anyOf([port, hostAndPort], 'a port number from 1 to 65535 or "host:port"')),
  appPort: anyOf([port, anyString, arrayOf(portOrString)], 'a port, a string or an array of them'),
  portsAttributes: mapOf(portAttributes),
  otherPortsAttributes: portAttributes,
  runArgs: stringArray,
  // `initializeCommand` is valid in the spec's schema but has no container-side meaning here: see validateConfig.
  waitFor: oneOfValues(['initializeCommand', 'onCreateCommand', 'updateContentCommand', 'postCreateCommand', 'postStartCommand', 'postAttachCommand']),
  customizations: anyObject,
  secrets: mapOf(shapeOf({ documentationUrl: anyString })),
  initializeCommand: lifecycleCommand,
  onCreateCommand: lifecycleCommand,
  updateContentCommand: lifecycleCommand,
  postCreateCommand: lifecycleCommand,
  postStartCommand: lifecycleCommand,
  postAttachCommand: lifecycleCommand,
} satisfies Record<keyof DevContainerConfig, Rule>;

/** Pre-spec top-level VS Code properties the devcontainer CLI still moves into `customizations.vscode`. */
const LEGACY_VSCODE_RULES: Record<string, Rule> = { extensions: stringArray, settings: anyObject, devPort: integerIn(0, 65535) };
/** Docker Compose properties: known, but only `dockerComposeFile` matters (it is rejected). */
const COMPOSE_PROPERTIES = ['dockerComposeFile', 'service', 'runServices'];
const KNOWN_NAMES = [...Object.keys(CONFIG_RULES), ...Object.keys(LEGACY_VSCODE_RULES), ...COMPOSE_PROPERTIES, '$schema'];

/**
 * Check the parsed JSON of a devcontainer.json and return the config with known properties only.
 * `context.fail` throws the first error; `context.warn` collects the rest.
 */
export function validateConfig(raw: unknown, context: RuleContext): DevContainerConfig {
  if (!isPlainObject(raw)) context.fail([], 'must contain a JSON object');
  if (raw.dockerComposeFile !== undefined) {
    context.fail(
      ['dockerComposeFile'],
      'Docker Compose configs are not supported yet',
      'Use an `image` or `build.dockerfile` config for this project, or the devcontainer CLI with Docker.',
    );
  }
  const config: Record<string, unknown> = {};
  const vscode: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (Object.hasOwn(CONFIG_RULES, key)) {
      checkValue(CONFIG_RULES[key as keyof typeof CONFIG_RULES], value, [key], context);
      config[key] = value;
    } else if (Object.hasOwn(LEGACY_VSCODE_RULES, key)) {
      checkValue(LEGACY_VSCODE_RULES[key]!, value, [key], context);
      vscode[key] = value;
    } else if (COMPOSE_PROPERTIES.includes(key)) {
      context.warn([key], `\`${key}\` is only used with \`dockerComposeFile\` (ignored)`);
    } else if (key !== '$schema') {
      context.warn([key], unknownPropertyMessage([key], KNOWN_NAMES));
    }
  }
  const result = config as DevContainerConfig;
  moveLegacyVscodeProperties(result, vscode);
  checkImageOrDockerfile(result, context);
  if (result.workspaceMount !== undefined && result.workspaceFolder === undefined) {
    context.fail(
      ['workspaceMount'],
      'needs `workspaceFolder` too (the spec requires both when the mount is set)',
      'Add `"workspaceFolder"` with the container path the mount makes the workspace.',
    );
  }
  if ((result.waitFor as string | undefined) === 'initializeCommand') {
    context.warn(['waitFor'], '`waitFor: "initializeCommand"` is not supported (ignored; the default `updateContentCommand` applies)');
    delete result.waitFor;
  }
  return result;
}

function checkImageOrDockerfile(config: DevContainerConfig, context: RuleContext): void {
  const dockerfile = config.dockerFile ?? config.build?.dockerfile;
  if (config.image === undefined && dockerfile === undefined) {
    context.fail(
      [],
      'needs `image` or `build.dockerfile`',
      'Add e.g. `"image": "mcr.microsoft.com/devcontainers/base:ubuntu"` or `"build": { "dockerfile": "Dockerfile" }`.',
    );
  }
  if (config.image !== undefined && config.image.trim() === '') context.fail(['image'], 'must not be empty');
  if (dockerfile !== undefined && dockerfile.trim() === '') {
    context.fail(config.dockerFile === undefined ? ['build', 'dockerfile'] : ['dockerFile'], 'must not be empty');
  }
  if (config.dockerFile !== undefined && config.build?.dockerfile !== undefined) {
    context.warn(['build', 'dockerfile'], 'both `dockerFile` and `build.dockerfile` are set; `dockerFile` is used');
  }
  if (config.image !== undefined && dockerfile !== undefined) {
    context.warn(['image'], 'both `image` and a Dockerfile are set; the Dockerfile is used and `image` ignored');
  }
}

/** As the devcontainer CLI does: `extensions`, `settings`, `devPort` become `customizations.vscode.*`. */
function moveLegacyVscodeProperties(config: DevContainerConfig, legacy: Record<string, unknown>): void {
  if (Object.keys(legacy).length === 0) return;
  const customizations = (config.customizations = { ...config.customizations });
  const vscode = isPlainObject(customizations.vscode) ? { ...customizations.vscode } : {};
  customizations.vscode = vscode;
  if (legacy.extensions !== undefined) {
    vscode.extensions = [...(Array.isArray(vscode.extensions) ? vscode.extensions : []), ...(legacy.extensions as string[])];
  }
  if (legacy.settings !== undefined) {
    vscode.settings = { ...(legacy.settings as object), ...(isPlainObject(vscode.settings) ? vscode.settings : {}) };
  }
  if (legacy.devPort !== undefined && vscode.devPort === undefined) vscode.devPort = legacy.devPort;
}
