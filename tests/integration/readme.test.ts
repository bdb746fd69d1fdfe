import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

const readme = readFileSync('README.md', 'utf8');

describe('README', () => {
  const blocks = [...readme.matchAll(/<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```/g)];

  it('shows every example as a real file', () => {
    expect(blocks.map((block) => block[1])).toEqual(
      expect.arrayContaining(['examples/greet.ts', 'examples/session-increment.ts', 'examples/web-dispatch.ts', 'examples/dependency-injection.ts']),
    );
  });

  it.each(blocks.map((block) => [block[1] as string, block[2] as string]))('%s matches the file the tests run', (file, code) => {
    expect(code).toBe(readFileSync(file, 'utf8'));
  });

  it('gives the install/start and test commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
  });
});
