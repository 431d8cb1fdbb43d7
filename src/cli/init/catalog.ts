/**
 * What `sandcat init` knows about agents, IDEs, language stacks and optional features.
 * Data only: the templates turn it into files. Versions are what a user gets by default and edits
 * afterwards in the generated Dockerfile's `mise use -g` lines.
 */

export const AGENTS = ['claude', 'codex', 'copilot', 'cursor', 'none'] as const;
export const IDES = ['vscode', 'jetbrains', 'none'] as const;
export const STACKS = ['node', 'python', 'java', 'rust', 'go', 'scala', 'ruby', 'dotnet'] as const;
export const FEATURES = ['1password', 'tui'] as const;

export type Agent = (typeof AGENTS)[number];
export type Ide = (typeof IDES)[number];
export type Stack = (typeof STACKS)[number];
export type Feature = (typeof FEATURES)[number];

export interface SecretTemplate {
  name: string;
  hosts: string[];
  /** Where a 1Password user usually keeps it (written as an `op://` reference with --features 1password). */
  opRef: string;
}

export interface AgentInfo {
  label: string;
  /** Shell lines (Dockerfile RUN bodies) that install the agent's CLI at image build time. */
  install: string[];
  /** The agent CLI is an npm package, so the image needs Node even when the node stack is not chosen. */
  needsNode: boolean;
  /** Hosts the agent's API lives on; allowed in the user settings. */
  hosts: string[];
  secrets: SecretTemplate[];
  vscodeExtensions: string[];
}

const GITHUB_HOSTS = ['github.com', '*.github.com', '*.githubusercontent.com'];

/** Allowed in every user settings file: git over HTTPS, with the token substituted only toward GitHub. */
export const BASE_USER_HOSTS = GITHUB_HOSTS;
export const BASE_USER_SECRETS: SecretTemplate[] = [{ name: 'GITHUB_TOKEN', hosts: GITHUB_HOSTS, opRef: 'op://Private/GitHub Token/credential' }];

export const AGENT_INFO: Record<Agent, AgentInfo> = {
  claude: {
    label: 'Claude Code',
    install: ['npm install -g @anthropic-ai/claude-code'],
    needsNode: true,
    hosts: ['*.anthropic.com', '*.claude.ai', '*.claude.com'],
    secrets: [{ name: 'ANTHROPIC_API_KEY', hosts: ['api.anthropic.com'], opRef: 'op://Private/Anthropic API Key/credential' }],
    vscodeExtensions: ['anthropic.claude-code'],
  },
  codex: {
    label: 'OpenAI Codex CLI',
    install: ['npm install -g @openai/codex'],
    needsNode: true,
    hosts: ['api.openai.com', 'auth.openai.com', 'chatgpt.com', '*.chatgpt.com'],
    secrets: [{ name: 'OPENAI_API_KEY', hosts: ['api.openai.com'], opRef: 'op://Private/OpenAI API Key/credential' }],
    vscodeExtensions: ['openai.chatgpt'],
  },
  copilot: {
    label: 'GitHub Copilot CLI',
    install: ['npm install -g @github/copilot'],
    needsNode: true,
    // The GitHub token (already in the base secrets) is exchanged at api.github.com for a Copilot token.
    hosts: ['*.githubcopilot.com'],
    secrets: [],
    vscodeExtensions: ['GitHub.copilot', 'GitHub.copilot-chat'],
  },
  cursor: {
    label: 'Cursor CLI',
    // The installer writes into $HOME; install under /opt so the persisted home volume cannot shadow it.
    install: ['curl -fsSL https://cursor.com/install -o /tmp/cursor-install.sh && HOME=/opt/cursor bash /tmp/cursor-install.sh && rm /tmp/cursor-install.sh', 'ln -sf /opt/cursor/.local/bin/cursor-agent /usr/local/bin/cursor-agent'],
    needsNode: false,
    hosts: ['*.cursor.sh', '*.cursor.com', 'cursor.com'],
    secrets: [{ name: 'CURSOR_API_KEY', hosts: ['*.cursor.sh', '*.cursor.com'], opRef: 'op://Private/Cursor API Key/credential' }],
    vscodeExtensions: [],
  },
  none: { label: 'no agent CLI', install: [], needsNode: false, hosts: [], secrets: [], vscodeExtensions: [] },
};

export interface StackInfo {
  label: string;
  /** `mise use -g` arguments, tool@version, one line each. */
  mise: string[];
  vscodeExtensions: string[];
  /** Package registries the project settings allow, so installs work inside the sandbox. */
  hosts: string[];
  implies?: Stack[];
}

export const STACK_INFO: Record<Stack, StackInfo> = {
  node: { label: 'Node.js (LTS)', mise: ['node@lts'], vscodeExtensions: ['dbaeumer.vscode-eslint'], hosts: ['registry.npmjs.org', 'registry.yarnpkg.com'] },
  python: { label: 'Python 3.12', mise: ['python@3.12', 'uv@latest'], vscodeExtensions: ['ms-python.python'], hosts: ['pypi.org', 'files.pythonhosted.org'] },
  java: { label: 'Java 21 (LTS, Temurin)', mise: ['java@temurin-21', 'maven@3', 'gradle@8'], vscodeExtensions: ['vscjava.vscode-java-pack'], hosts: ['repo.maven.apache.org', 'repo1.maven.org', 'plugins.gradle.org', 'services.gradle.org'] },
  rust: { label: 'Rust (stable)', mise: ['rust@stable'], vscodeExtensions: ['rust-lang.rust-analyzer'], hosts: ['crates.io', 'index.crates.io', 'static.crates.io', 'static.rust-lang.org'] },
  go: { label: 'Go (latest)', mise: ['go@latest'], vscodeExtensions: ['golang.go'], hosts: ['proxy.golang.org', 'sum.golang.org'] },
  scala: { label: 'Scala 3 (scala-cli, sbt)', mise: ['scala-cli@latest', 'sbt@latest'], vscodeExtensions: ['scalameta.metals'], hosts: ['repo.scala-sbt.org', 'scala.jfrog.io'], implies: ['java'] },
  ruby: { label: 'Ruby 3.3', mise: ['ruby@3.3'], vscodeExtensions: ['Shopify.ruby-lsp'], hosts: ['rubygems.org', 'index.rubygems.org'] },
  dotnet: { label: '.NET 8 (LTS)', mise: ['dotnet@8'], vscodeExtensions: ['ms-dotnettools.csdevkit'], hosts: ['api.nuget.org'] },
};

export const IDE_HOSTS: Record<Ide, string[]> = {
  vscode: ['update.code.visualstudio.com', 'marketplace.visualstudio.com', '*.vsassets.io', 'main.vscode-cdn.net'],
  jetbrains: ['plugins.jetbrains.com', 'downloads.marketplace.jetbrains.com'],
  none: [],
};

export const FEATURE_INFO: Record<Feature, string> = {
  '1password': 'write op:// references in the user settings and pass OP_SERVICE_ACCOUNT_TOKEN to the proxy',
  tui: 'kept for compatibility: `sandcat proxy` is always a terminal view of the decision log',
};

export const DEFAULTS = { agent: 'claude' as Agent, ide: 'vscode' as Ide, stacks: [] as Stack[], features: [] as Feature[] };
