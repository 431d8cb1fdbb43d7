import { createInterface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import { formatError } from '../../errors.js';
import { AGENTS, FEATURES, IDES, STACKS } from './catalog.js';
import { parseAgent, parseFeatures, parseIde, parseStacks, type InitChoices } from './options.js';

export interface PromptIo {
  input: Readable;
  output: Writable;
}

interface Question<T> {
  key: keyof InitChoices;
  text: string;
  def: string;
  parse(raw: string): T;
}

const QUESTIONS: Question<unknown>[] = [
  { key: 'agent', text: `Agent (${AGENTS.join(', ')})`, def: 'claude', parse: parseAgent },
  { key: 'ide', text: `IDE (${IDES.join(', ')})`, def: 'vscode', parse: parseIde },
  { key: 'stacks', text: `Stacks, comma-separated (${STACKS.join(', ')})`, def: 'none', parse: parseStacks },
  { key: 'features', text: `Optional features (${FEATURES.join(', ')})`, def: 'none', parse: parseFeatures },
];

/**
 * Ask for each choice not already given, showing the default in brackets; Enter takes it. A wrong
 * answer is explained and asked again. Answers are read line by line, so a test can script them.
 */
export async function askChoices(io: PromptIo, given: Partial<InitChoices>): Promise<Partial<InitChoices>> {
  const rl = createInterface({ input: io.input, output: io.output, terminal: (io.output as { isTTY?: boolean }).isTTY === true });
  const answers: Partial<Record<keyof InitChoices, unknown>> = {};
  let closed = false;
  rl.on('close', () => (closed = true));
  try {
    for (const q of QUESTIONS) {
      if (given[q.key] !== undefined) continue;
      for (;;) {
        if (closed) throw new Error('input ended before all questions were answered');
        const raw = (await rl.question(`${q.text} [${q.def}]: `)).trim();
        try {
          answers[q.key] = q.parse(raw || q.def);
          break;
        } catch (err) {
          io.output.write(`  ${formatError(err).replace(/\n\s*fix: /, '; ')}\n`);
        }
      }
    }
  } finally {
    rl.close();
  }
  return answers as Partial<InitChoices>;
}
