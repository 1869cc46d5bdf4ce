/**
 * A scripted ClassifierEngine for deterministic pipeline tests (beside the real-model ones): its
 * generations are what a function of the prompt returns; token counts are characters / 4. It
 * ignores grammars, like an engine without grammar support (callers parse leniently).
 */
import { ChatPrompt, ClassifierEngine, Generation, PromptSession } from '../../src/core/ports';

export class ScriptedEngine implements ClassifierEngine {
  readonly info = {
    backend: 'scripted',
    threads: 1,
    model: 'scripted',
    adapters: [],
    contextSize: 1 << 20,
    parallel: 1,
  };
  readonly endTokens = [0];
  evaluatedTokens = 0;
  /** The prompts the pipeline sent, in order. */
  readonly prompts: ChatPrompt[] = [];

  constructor(private readonly answer: (prompt: ChatPrompt) => string) {}

  async tokenizeLabel(label: string): Promise<number[]> {
    return [...label].map((c) => c.codePointAt(0)!);
  }

  async countPromptTokens(prompt: ChatPrompt): Promise<number> {
    return this.count(prompt);
  }

  private count(prompt: ChatPrompt): number {
    return Math.ceil(((prompt.system ?? '') + prompt.user).length / 4);
  }

  async withPrompt<T>(prompt: ChatPrompt, fn: (s: PromptSession) => Promise<T>): Promise<T> {
    this.prompts.push(prompt);
    const tokens = this.count(prompt);
    this.evaluatedTokens += tokens;
    const text = this.answer(prompt);
    const gen = (): Generation => ({ text, tokens: Math.ceil(text.length / 4), truncated: false });
    return fn({
      promptTokens: tokens,
      reusedTokens: 0,
      continuation: async () => {
        throw new Error('the scripted engine does not score');
      },
      generateConstrained: async (labels) => labels.find((l) => text.startsWith(l)) ?? labels[0]!,
      generateFree: async () => text,
      generateWithGrammar: async () => gen(),
    });
  }

  async dispose(): Promise<void> {}
}
