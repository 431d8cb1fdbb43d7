/**
 * Saying what to do after `compose build` failed, from the tail of its output: which service's
 * image failed (sandcat's own, built from the sandcat checkout, or the agent's), and whether it was
 * the base image that could not be pulled (no registry access) rather than a step of a Dockerfile.
 */

/** What is known about a service with a `build:` (from the raw compose files, before interpolation). */
export interface BuiltService {
  /** Built from the sandcat checkout's docker/Dockerfile (proxy, wg-client). */
  sandcat: boolean;
  /** The variable that sets its BASE_IMAGE build arg (`${SANDCAT_BASE_IMAGE:-…}`), if any. */
  baseImageVar?: string;
  /** Its base image when that variable is unset. */
  baseImageDefault?: string;
}

/** The service compose was building when it failed, when its output says so. */
export function failedService(output: string, known: readonly string[] = []): string | undefined {
  const explicit = [
    /Service '([^']+)' failed to build/g, // docker-compose v1
    /[Ss]ervice "([^"]+)" failed to build/g, // docker compose v2 (some versions)
    /target ([\w.-]+): failed to solve/g, // docker compose v2 via bake
    /ERROR \[([\w.-]+) (?:internal|build|stage-\d+|\d+\/\d+)/g, // buildkit's failed step: "ERROR [proxy build 3/9]"
  ];
  for (const re of explicit) {
    const all = [...output.matchAll(re)];
    if (all.length > 0) return all[all.length - 1]![1];
  }
  // The last build step started: "Building proxy" (v1), "#3 [proxy internal] load …", "Service proxy  Building" (v2).
  const steps = [...output.matchAll(/^(?:Building ([\w.-]+)\s*$|#\d+ \[([\w.-]+) (?:internal|build|stage-\d+|\d+\/\d+)|\s*(?:Service )?([\w.-]+)\s+Building\s*$)/gm)];
  for (let i = steps.length - 1; i >= 0; i--) {
    const name = steps[i]![1] ?? steps[i]![2] ?? steps[i]![3];
    if (name && (known.length === 0 || known.includes(name))) return name;
  }
  return undefined;
}

/** Output that says the base image could not be pulled (no network, no registry, no access). */
const PULL_FAILURE = [
  /no such host/i,
  /pull access denied/i,
  /registry-1\.docker\.io/i,
  /TLS handshake timeout/i,
  /failed to resolve source metadata/i,
  /failed to fetch (?:anonymous|oauth) token/i,
  /error pulling image/i,
  /manifest (?:for \S+ )?(?:unknown|not found)/i,
  /toomanyrequests/i,
  /Error response from daemon: Get "?https:\/\//i,
  /proxyconnect tcp/i,
];

export function looksLikePullFailure(output: string): boolean {
  return PULL_FAILURE.some((re) => re.test(output));
}

export interface BuildFailureContext {
  /** The services compose builds, by name. */
  services: Record<string, BuiltService>;
  /** The agent service (devcontainer.json "service"). */
  agentService: string;
  /** Whether `sandcat edit dockerfile` can open the agent's Dockerfile (a devcontainer project). */
  devcontainer: boolean;
}

const SANDCAT_VARS: BuiltService = { sandcat: true, baseImageVar: 'SANDCAT_BASE_IMAGE', baseImageDefault: 'node:20-bookworm-slim' };

/** The lines `sandcat run` prints after a failed build (without the "sandcat run: " prefix). */
export function buildFailureHint(output: string, exit: number, ctx: BuildFailureContext): string[] {
  const service = failedService(output, Object.keys(ctx.services));
  const info = service ? (ctx.services[service] ?? (service === 'proxy' || service === 'wg-client' ? SANDCAT_VARS : undefined)) : undefined;
  const which = service ? (info?.sandcat ? `sandcat's image (service "${service}", built from the sandcat checkout's docker/Dockerfile)` : `the image of service "${service}"`) : 'the images';
  const lines = [`building ${which} failed (exit ${exit})`];
  if (looksLikePullFailure(output)) {
    lines[0] += ': its base image could not be pulled (no registry access, or the name is wrong)';
    const vars = info?.baseImageVar
      ? [{ ...info, name: service }]
      : Object.entries(ctx.services)
          .filter(([, s]) => s.baseImageVar)
          .map(([name, s]) => ({ ...s, name }))
          .filter((s, i, all) => all.findIndex((x) => x.baseImageVar === s.baseImageVar) === i);
    if (vars.length > 0) {
      lines.push('point the base image at one this engine already has (see "docker images"), then run "sandcat run --build":');
      for (const v of vars) {
        const what = v.sandcat ? "sandcat's image (needs Debian bookworm with Node 20 and npm)" : `the ${v.name === ctx.agentService ? 'agent' : `"${v.name}"`} image`;
        lines.push(`  ${v.baseImageVar}=<image>   base of ${what}${v.baseImageDefault ? `; default ${v.baseImageDefault}` : ''}`);
      }
    } else {
      lines.push('pull the base image named in the output above when the registry is reachable (docker pull <image>), or change the FROM line to an image this engine has; then run "sandcat run --build"');
    }
    return lines;
  }
  if (info?.sandcat) {
    lines.push(
      'that Dockerfile is sandcat\'s, not your project\'s: the build output above says which step; check the sandcat checkout it is built from (SANDCAT_HOME) is complete and up to date, then run "sandcat run --build"',
    );
    return lines;
  }
  const df = ctx.devcontainer && (!service || service === ctx.agentService) ? ' (sandcat edit dockerfile opens it)' : '';
  lines[0] += '; the build output above says which step';
  lines.push(`fix ${service && service !== ctx.agentService ? `the Dockerfile of "${service}"` : "the agent's Dockerfile"}${df}, then run "sandcat run --build"`);
  return lines;
}

/** The build facts of each service with `build:`, from the services as compose would merge them. */
export function builtServiceInfo(configs: Record<string, Record<string, unknown>>): Record<string, BuiltService> {
  const out: Record<string, BuiltService> = {};
  for (const [name, cfg] of Object.entries(configs)) {
    const build = cfg.build;
    if (build === undefined) continue;
    const b = build && typeof build === 'object' ? (build as { dockerfile?: unknown; args?: unknown }) : {};
    const args = b.args;
    const raw = Array.isArray(args)
      ? args.map(String).find((a) => a.startsWith('BASE_IMAGE='))?.slice('BASE_IMAGE='.length)
      : args && typeof args === 'object'
        ? (args as Record<string, unknown>).BASE_IMAGE
        : undefined;
    const m = typeof raw === 'string' ? /^\$\{(\w+)(?::?-([^}]*))?\}$/.exec(raw.trim()) : null;
    const dockerfile = typeof b.dockerfile === 'string' ? b.dockerfile : '';
    out[name] = {
      sandcat: dockerfile === 'docker/Dockerfile' && (m?.[1] === 'SANDCAT_BASE_IMAGE' || name === 'proxy' || name === 'wg-client'),
      ...(m ? { baseImageVar: m[1], ...(m[2] ? { baseImageDefault: m[2] } : {}) } : {}),
    };
  }
  return out;
}
