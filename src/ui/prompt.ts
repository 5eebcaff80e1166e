// Questions to the operator in guided mode, read line by line from stdin (a terminal, or a
// pipe when --guided is forced). The only module that prompts.
// Invariants: an unknown answer asks again; end of input answers "abort" (never "yes").
import readline from 'node:readline';

export class Prompter {
  private rl: readline.Interface;
  private lines: string[] = [];
  private waiting: ((l: string | null) => void) | null = null;
  private closed = false;

  constructor(
    input: NodeJS.ReadableStream = process.stdin,
    private readonly output: (s: string) => void = (s) => process.stdout.write(s),
  ) {
    this.rl = readline.createInterface({ input, terminal: false });
    this.rl.on('line', (l) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(l);
      } else this.lines.push(l);
    });
    this.rl.on('close', () => {
      this.closed = true;
      this.waiting?.(null);
    });
  }

  private nextLine(): Promise<string | null> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.closed) return Promise.resolve(null);
    return new Promise((r) => (this.waiting = r));
  }

  /** Ask until one of `choices` (first letters work) is given; end of input gives `onEnd`. */
  async choose<T extends string>(question: string, choices: readonly T[], onEnd: T): Promise<T> {
    for (;;) {
      this.output(`${question} [${choices.join('/')}] `);
      const l = await this.nextLine();
      if (l === null) {
        this.output(`(no more input: ${onEnd})\n`);
        return onEnd;
      }
      const a = l.trim().toLowerCase();
      const hit = choices.find((c) => c === a) ?? choices.find((c) => a.length > 0 && c.startsWith(a));
      if (hit) return hit;
      this.output(`please answer ${choices.join(', ')}\n`);
    }
  }

  close(): void {
    this.rl.close();
  }
}
