/**
 * What `sandcat run` says after a failed `compose build`: the service whose image failed (sandcat's
 * own image is not the user's Dockerfile), and, when the base image could not be pulled, the
 * variables that point it at a local image.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildFailureHint, builtServiceInfo, failedService, looksLikePullFailure } from '../../src/cli/build-failure.js';
import { composeAgent } from '../../src/cli/init/templates/compose-agent.js';
import { sandcatServices } from '../../src/cli/init/templates/compose-sandcat.js';

type Services = Record<string, Record<string, unknown>>;
const REPO = join(import.meta.dirname, '..', '..');
const quickStart = (parseYaml(readFileSync(join(REPO, 'docker', 'compose.yml'), 'utf8')) as { services: Services }).services;
const generated = {
  ...(parseYaml(sandcatServices({ version: '0.1.0', installDir: '/opt/sandcat', projectSettingsDir: '../.sandcat', features: [] })) as { services: Services }).services,
  ...(parseYaml(composeAgent({ agents: [], features: [] } as never, { projectName: 'shop', workspaceFolder: '/workspaces/shop', existing: new Set() } as never)) as { services: Services }).services,
};
const ctx = { services: builtServiceInfo(generated), agentService: 'agent', devcontainer: true };

const V1_PULL = `Building proxy
Step 1/20 : ARG BASE_IMAGE=node:20-bookworm-slim
Step 2/20 : FROM \${BASE_IMAGE} AS build
ERROR: Service 'proxy' failed to build : Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 127.0.0.53:53: no such host
`;
const V2_PULL = `#1 [proxy internal] load build definition from Dockerfile
#2 [proxy internal] load metadata for docker.io/library/node:20-bookworm-slim
#2 ERROR: failed to do request: Head "https://registry-1.docker.io/v2/library/node/manifests/20-bookworm-slim": net/http: TLS handshake timeout
target proxy: failed to solve: node:20-bookworm-slim: failed to resolve source metadata for docker.io/library/node:20-bookworm-slim
`;
const V1_STEP = `Building proxy
Step 7/20 : RUN npm ci
npm ERR! code ENOENT
ERROR: Service 'proxy' failed to build : The command '/bin/sh -c npm ci' returned a non-zero code: 254
`;
const AGENT_PULL = `Building agent
Step 2/9 : FROM \${BASE_IMAGE}
ERROR: Service 'agent' failed to build : pull access denied for debian, repository does not exist or may require 'docker login'
`;
const AGENT_STEP = `Building agent
Step 5/9 : RUN mise use -g node@lts
ERROR: Service 'agent' failed to build : exit 127
`;

describe('the variables named are the ones the compose files use', () => {
  it('generated projects: SANDCAT_BASE_IMAGE for sandcat, SANDCAT_AGENT_BASE_IMAGE for the agent', () => {
    expect(ctx.services.proxy).toEqual({ sandcat: true, baseImageVar: 'SANDCAT_BASE_IMAGE', baseImageDefault: 'node:20-bookworm-slim' });
    expect(ctx.services['wg-client']).toEqual(ctx.services.proxy);
    expect(ctx.services.agent).toEqual({ sandcat: false, baseImageVar: 'SANDCAT_AGENT_BASE_IMAGE', baseImageDefault: 'debian:bookworm-slim' });
  });
  it('the Docker quick start: SANDCAT_BASE_IMAGE for all three', () => {
    const q = builtServiceInfo(quickStart);
    expect(q.proxy).toEqual({ sandcat: true, baseImageVar: 'SANDCAT_BASE_IMAGE', baseImageDefault: 'node:20-bookworm-slim' });
    expect(q.agent).toEqual({ sandcat: false, baseImageVar: 'SANDCAT_BASE_IMAGE', baseImageDefault: 'node:20-bookworm-slim' });
  });
});

describe('failedService', () => {
  it.each([
    [V1_PULL, 'proxy'],
    [V2_PULL, 'proxy'],
    [AGENT_STEP, 'agent'],
    ['Building proxy\nStep 1/2 : FROM x\n', 'proxy'],
    ['#5 [wg-client build 3/9] RUN npm ci\n#5 ERROR: process "/bin/sh -c npm ci" did not complete successfully\n', 'wg-client'],
    ['something else entirely\n', undefined],
  ])('%#', (out, want) => expect(failedService(out, ['proxy', 'wg-client', 'agent'])).toBe(want));
});

describe('buildFailureHint', () => {
  it('sandcat image, pull failure: names the service and SANDCAT_BASE_IMAGE, not the agent Dockerfile', () => {
    for (const out of [V1_PULL, V2_PULL]) {
      expect(looksLikePullFailure(out)).toBe(true);
      const text = buildFailureHint(out, 1, ctx).join('\n');
      expect(text).toContain('service "proxy"');
      expect(text).toContain('base image could not be pulled');
      expect(text).toMatch(/SANDCAT_BASE_IMAGE=<image> .*node:20-bookworm-slim/);
      expect(text).not.toContain('SANDCAT_AGENT_BASE_IMAGE');
      expect(text).not.toContain('sandcat edit dockerfile');
    }
  });
  it('sandcat image, a failed step: the Dockerfile is sandcat\'s, check the checkout', () => {
    expect(looksLikePullFailure(V1_STEP)).toBe(false);
    const text = buildFailureHint(V1_STEP, 1, ctx).join('\n');
    expect(text).toContain('sandcat\'s image (service "proxy"');
    expect(text).toContain('SANDCAT_HOME');
    expect(text).not.toContain('sandcat edit dockerfile');
  });
  it('agent image, pull failure: SANDCAT_AGENT_BASE_IMAGE', () => {
    const text = buildFailureHint(AGENT_PULL, 1, ctx).join('\n');
    expect(text).toContain('service "agent"');
    expect(text).toMatch(/SANDCAT_AGENT_BASE_IMAGE=<image> .*agent image; default debian:bookworm-slim/);
    expect(text).not.toMatch(/SANDCAT_BASE_IMAGE=/);
  });
  it('agent image, a failed step: fix the Dockerfile (sandcat edit dockerfile opens it)', () => {
    const text = buildFailureHint(AGENT_STEP, 1, ctx).join('\n');
    expect(text).toMatch(/the build output above says which step/);
    expect(text).toMatch(/fix the agent's Dockerfile \(sandcat edit dockerfile opens it\), then run "sandcat run --build"/);
  });
  it('a pull failure of an unknown service names both variables', () => {
    const text = buildFailureHint('Get "https://registry-1.docker.io/v2/": TLS handshake timeout\n', 1, ctx).join('\n');
    expect(text).toContain('building the images failed');
    expect(text).toContain('SANDCAT_BASE_IMAGE=<image>');
    expect(text).toContain('SANDCAT_AGENT_BASE_IMAGE=<image>');
  });
});
